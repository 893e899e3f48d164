//! `mlxk serve`: checks the options and the preloaded model, prints the reference's
//! startup document, then runs the server (`crate::serve`) until killed.

use serde_json::json;

use super::{Context, ExitStatus};
use crate::cli::ServeArgs;
use crate::engine;
use crate::printer;
use crate::serve::{self, Settings};

fn fail(ctx: &Context, kind: &str, message: &str) -> ExitStatus {
    if ctx.json {
        let env = json!({"status": "error", "command": "serve", "data": null, "error": {"type": kind, "message": message}});
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        printer::stderr(format!("Error: {message}\n").as_bytes());
    }
    ExitStatus::Failure
}

/// Runs the server.
pub fn run(ctx: &Context, args: &ServeArgs) -> ExitStatus {
    if args.max_tokens == Some(0) {
        return fail(
            ctx,
            "ValidationError",
            "--max-tokens must be at least 1 (got 0)",
        );
    }
    let engine = match engine::discover(|k| std::env::var(k).ok()) {
        Ok(e) => e,
        Err(e) => return fail(ctx, e.code(), &e.to_string()),
    };
    if let Some(model) = &args.model {
        match super::run::plan_quiet(ctx, model) {
            Ok(core_wasm::commands::run::RunPlan::Run { .. }) => {}
            Ok(core_wasm::commands::run::RunPlan::Reply { error }) => {
                return fail(ctx, &error.kind, &error.message);
            }
            Err(e) => return fail(ctx, "InternalError", &e.to_string()),
        }
    }
    let start = json!({
        "status": "starting",
        "command": "serve",
        "data": {
            "host": args.host,
            "port": args.port,
            "model": args.model,
            "max_tokens": args.max_tokens,
            "embed_backend": null,
        },
        "error": null,
    });
    if ctx.json {
        printer::stdout(&core_wasm::json::to_python_json(&start));
    }
    let settings = Settings {
        host: args.host.clone(),
        port: args.port,
        preload: args.model.clone(),
        max_tokens: args.max_tokens,
    };
    match serve::run(ctx, engine, settings) {
        Ok(()) => ExitStatus::Success,
        Err(m) => fail(ctx, "server_error", &m),
    }
}

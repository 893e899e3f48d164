//! mlxk, the native CLI: arguments, environment, terminal and the wasmtime sandbox. It
//! holds no cache rules of its own; every answer comes from the core-wasm guest.
// All output goes through `printer`, which handles closed pipes.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod capabilities;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod env;
pub mod listing;
pub mod printer;
#[cfg(feature = "network")]
pub mod pull;
pub mod runtime;
pub mod serve;

use std::process::ExitCode;

use core_wasm::error::CoreError;
use core_wasm::protocol::Envelope;

use crate::commands::{Context, ExitStatus};

/// Entry point of both binaries; `json_default` is `true` for `mlxk-json`.
pub fn main_with(json_default: bool) -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = core_wasm::request::program_name(&argv);
    let wants_json = json_default || core_wasm::request::wants_json(&argv);
    let cli = match cli::parse(&argv, json_default) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err, wants_json).into(),
    };
    let (cache_dir, cache_origin) =
        env::resolve_cache_location(cli.cache_dir.as_deref(), |k| std::env::var(k).ok());
    let ctx = Context {
        program,
        cache_dir,
        cache_origin,
        json: json_default || cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    printer::set_quiet(cli.quiet);
    let status = if cli.version {
        commands::version::run(&ctx)
    } else {
        match &cli.command {
            Some(cli::Command::List(args)) => commands::list::run(&ctx, args),
            Some(cli::Command::Health(args)) => commands::health::run(&ctx, args),
            Some(cli::Command::Show(args)) => commands::show::run(&ctx, args),
            Some(cli::Command::Pull(args)) => commands::pull::run(&ctx, args),
            Some(cli::Command::Rm(args)) => commands::rm::run(&ctx, args),
            Some(cli::Command::Prune(args)) => commands::prune::run(&ctx, args),
            Some(cli::Command::Clone(args)) => commands::clone::run(&ctx, args),
            Some(cli::Command::Convert(args)) => commands::convert::run(&ctx, args),
            Some(cli::Command::Run(args)) => commands::run::run(&ctx, args),
            Some(cli::Command::Serve(args)) => commands::serve::run(&ctx, args),
            Some(cli::Command::Completions(args)) => commands::completions::run(&ctx, args),
            Some(cli::Command::Manpages(args)) => commands::completions::manpages(args),
            None => no_command(&ctx),
        }
    };
    status.into()
}

/// `mlxk` alone prints help (exit 2); `mlxk --json` alone is a JSON error (exit 1).
fn no_command(ctx: &Context) -> ExitStatus {
    if ctx.json {
        let env = Envelope::failure(
            None,
            CoreError::NoCommand.to_body(),
            serde_json::Value::Null,
        );
        printer::stdout(&core_wasm::json::to_python_json(&env));
        return ExitStatus::Failure;
    }
    let help = <cli::Cli as clap::CommandFactory>::command()
        .render_help()
        .to_string();
    printer::stderr(help.as_bytes());
    ExitStatus::Usage
}

fn usage_error(err: &clap::Error, json: bool) -> ExitStatus {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        printer::stdout(err.render().to_string().as_bytes());
        return ExitStatus::Success;
    }
    if json {
        let body = CoreError::Usage(cli::usage_message(err)).to_body();
        let env = Envelope::failure(None, body, serde_json::Value::Null);
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        let styled = err.render();
        let text = if printer::stderr_wants_color() {
            styled.ansi().to_string()
        } else {
            // `Display` of clap's styled text drops the escapes.
            styled.to_string()
        };
        printer::stderr(text.as_bytes());
    }
    ExitStatus::Usage
}

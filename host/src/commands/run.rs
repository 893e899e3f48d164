//! `mlxk run model [prompt…]`: the guest resolves and gates the model (`run --plan`); the
//! host runs mlx-lm on the folder it names (`crate::engine`) and prints the answer,
//! streamed as it comes, or the reference's envelope with `--json`.

use std::io::{BufRead, IsTerminal, Read, Write};

use core_wasm::commands::run::RunPlan;
use core_wasm::protocol::{CommandName, Envelope, ErrorBody, RunData};
use serde_json::{Value, json};

use super::{Access, Context, ExitStatus, Work, capture_guest, report_failure};
use crate::cli::RunArgs;
use crate::engine::interrupt::Interrupts;
use crate::engine::{self, EngineError, Generate, Worker};

/// The finish reason of a generation Ctrl-C stopped (worker.py).
const INTERRUPTED: &str = "interrupted";
use crate::printer;

fn fail(ctx: &Context, error: ErrorBody) -> ExitStatus {
    if ctx.json {
        let env = Envelope::failure(Some(CommandName::Run), error, Value::Null);
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        printer::stderr(format!("Error: {}\n", error.message).as_bytes());
    }
    ExitStatus::Failure
}

/// Why the guest gave no plan.
#[derive(Debug)]
pub enum PlanError {
    /// The sandbox failed (reported like any guest failure).
    Guest(crate::runtime::GuestFailure),
    /// The guest answered something that is not a plan.
    Unreadable(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Guest(g) => write!(f, "{g}"),
            Self::Unreadable(m) => f.write_str(m),
        }
    }
}

/// Asks the guest which folder to run; a failure is reported (as `ctx` wants it).
pub fn plan(ctx: &Context, model: &str) -> Result<RunPlan, ExitStatus> {
    plan_quiet(ctx, model).map_err(|e| match e {
        PlanError::Guest(f) => {
            report_failure(ctx, CommandName::Run, &f);
            ExitStatus::Failure
        }
        PlanError::Unreadable(m) => fail(ctx, EngineError::Failed(m).to_body()),
    })
}

/// [`plan`] without printing anything: the plan, or why there is none.
pub fn plan_quiet(ctx: &Context, model: &str) -> Result<RunPlan, PlanError> {
    let quiet = Context {
        json: false,
        ..ctx.clone()
    };
    let argv = vec![
        "run".to_owned(),
        "--plan".to_owned(),
        "--".to_owned(),
        model.to_owned(),
    ];
    let out =
        capture_guest(&quiet, argv, Access::ReadCache, Work::Quick).map_err(PlanError::Guest)?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        PlanError::Unreadable(format!(
            "the core's run plan is unreadable ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// Runs a prompt, or a chat.
pub fn run(ctx: &Context, args: &RunArgs) -> ExitStatus {
    let (path, context_length) = match plan(ctx, &args.model) {
        Ok(RunPlan::Run {
            path,
            context_length,
            ..
        }) => (path, context_length),
        Ok(RunPlan::Reply { error }) => return fail(ctx, error),
        Err(status) => return status,
    };
    let mut prompt = args
        .prompt_flag
        .clone()
        .or_else(|| (!args.prompt.is_empty()).then(|| args.prompt.join(" ")));
    if prompt.as_deref() == Some("-") {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            return fail(
                ctx,
                EngineError::Failed(format!("Cannot read stdin: {e}")).to_body(),
            );
        }
        prompt = Some(text);
    }
    if prompt.is_none() && ctx.json {
        let e = EngineError::Failed("Interactive mode not compatible with JSON output".into());
        return fail(ctx, e.to_body());
    }
    // No separate discovery: the worker's own start says whether mlx-lm imports, which
    // saves a Python start before the first token.
    let engine = engine::Engine {
        python: engine::discover::python(|k| std::env::var(k).ok()).0,
        version: String::new(),
    };
    let json = ctx.json;
    let interrupts = Interrupts::install(move || {
        if json {
            let env = Envelope::failure(
                Some(CommandName::Run),
                EngineError::Interrupted.to_body(),
                Value::Null,
            );
            printer::stdout(&core_wasm::json::to_python_json(&env));
        } else {
            printer::stderr(b"\n");
        }
    });
    let mut worker = match Worker::spawn(&engine)
        .inspect(|w| interrupts.watch(w.pid()))
        .and_then(|mut w| w.load(std::path::Path::new(&path)).map(|()| w))
    {
        Ok(w) => w,
        Err(e) => return fail(ctx, e.to_body()),
    };
    let base = Generate {
        chat_template: !args.no_chat_template,
        max_tokens: args.max_tokens,
        context_length,
        temperature: args.temperature,
        top_p: args.top_p,
        repetition_penalty: Some(args.repetition_penalty)
            .filter(|r| (*r - 1.0).abs() > f64::EPSILON),
        ..Generate::default()
    };
    let mut session = Session {
        worker: &mut worker,
        interrupts: &interrupts,
    };
    match prompt {
        Some(p) => once(ctx, args, &mut session, base, p),
        None => chat(args, &mut session, base),
    }
}

/// The loaded worker, and what Ctrl-C does to it.
struct Session<'a> {
    worker: &'a mut Worker,
    interrupts: &'a Interrupts,
}

impl Session<'_> {
    /// Generates with Ctrl-C stopping the generation (the text so far is kept).
    fn generate(
        &mut self,
        req: &Generate,
        on_token: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<engine::Generated, EngineError> {
        let worker = &mut *self.worker;
        self.interrupts
            .generating(|| worker.generate(req, on_token))
    }
}

fn request(base: &Generate, history: &[Value], prompt: &str) -> Generate {
    let mut req = base.clone();
    if base.chat_template {
        req.messages = Some(history.to_vec());
    } else {
        req.prompt = prompt.to_owned();
    }
    req
}

/// One prompt: the envelope, or the text (streamed unless `--no-stream`).
fn once(
    ctx: &Context,
    args: &RunArgs,
    session: &mut Session<'_>,
    base: Generate,
    prompt: String,
) -> ExitStatus {
    let history = vec![json!({"role": "user", "content": prompt})];
    let req = request(&base, &history, &prompt);
    if ctx.json {
        return match session.generate(&req, None) {
            Ok(done) if done.finish_reason == INTERRUPTED => {
                fail(ctx, EngineError::Interrupted.to_body());
                ExitStatus::Interrupted
            }
            Ok(done) => {
                let data = RunData {
                    model: args.model.clone(),
                    prompt,
                    response: done.text,
                    finish_reason: Some(done.finish_reason),
                };
                printer::stdout(&core_wasm::json::to_python_json(&Envelope::success(
                    CommandName::Run,
                    data,
                )));
                ExitStatus::Success
            }
            Err(e) => fail(ctx, e.to_body()),
        };
    }
    // A reader that went away (`| head`) stops the generation; that is a quiet success,
    // as for other tools that write to a pipe.
    let mut closed = false;
    let result = if args.no_stream {
        session.generate(&req, None).inspect(|done| {
            printer::stdout(done.text.as_bytes());
        })
    } else {
        let mut out = std::io::stdout();
        let mut print = |t: &str| {
            let ok = out
                .write_all(t.as_bytes())
                .and_then(|()| out.flush())
                .is_ok();
            closed |= !ok;
            ok
        };
        session.generate(&req, Some(&mut print))
    };
    match result {
        Ok(_) if closed => ExitStatus::Success,
        Ok(done) if done.finish_reason == INTERRUPTED => {
            printer::stdout(b"\n");
            ExitStatus::Interrupted
        }
        Ok(done) => {
            printer::stdout(b"\n");
            cut_notice(&done, args.max_tokens);
            ExitStatus::Success
        }
        Err(e) => fail(ctx, e.to_body()),
    }
}

/// The reference's notice when the budget cut the answer (its issue #66).
fn cut_notice(done: &engine::Generated, asked: Option<u64>) {
    if done.finish_reason != "length" {
        return;
    }
    let n = done.completion_tokens;
    let ceiling = asked.unwrap_or(engine::worker::DEFAULT_MAX_TOKENS);
    let text = if done.max_tokens < ceiling {
        format!(
            "[Output cut at {n} tokens: prompt ({}) and output fill the model's context window. Shorten the prompt to allow more.]",
            done.prompt_tokens
        )
    } else if asked.is_some() {
        format!(
            "[Output cut at {n} tokens (--max-tokens). Pass a larger --max-tokens to allow more.]"
        )
    } else {
        format!(
            "[Output cut at {n} tokens, the default max_tokens. Pass --max-tokens to allow more.]"
        )
    };
    printer::stderr(format!("{text}\n").as_bytes());
}

/// An interactive chat on stdin: history kept, an empty line ignored, end of input ends.
fn chat(args: &RunArgs, session: &mut Session<'_>, base: Generate) -> ExitStatus {
    let tty = std::io::stdin().is_terminal();
    if tty {
        printer::stderr(b"Chat with the model. Ctrl-C stops an answer, Ctrl-D ends.\n");
    }
    let mut history: Vec<Value> = Vec::new();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if tty {
            printer::stderr(b"> ");
        }
        let Some(Ok(line)) = lines.next() else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        history.push(json!({"role": "user", "content": line}));
        let req = request(&base, &history, &line);
        let mut out = std::io::stdout();
        let mut print = |t: &str| {
            out.write_all(t.as_bytes())
                .and_then(|()| out.flush())
                .is_ok()
        };
        let streamed = if args.no_stream {
            None
        } else {
            Some(&mut print as &mut dyn FnMut(&str) -> bool)
        };
        match session.generate(&req, streamed) {
            Ok(done) => {
                if args.no_stream {
                    printer::stdout(done.text.as_bytes());
                }
                printer::stdout(b"\n");
                cut_notice(&done, args.max_tokens);
                history.push(json!({"role": "assistant", "content": done.text}));
            }
            Err(e) => {
                printer::stderr(format!("Error: {e}\n").as_bytes());
                return ExitStatus::Failure;
            }
        }
    }
    ExitStatus::Success
}

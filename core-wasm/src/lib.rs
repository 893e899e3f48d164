//! mlx-knife's core: every rule about a Hugging Face hub cache, and nothing else.
//!
//! The crate builds twice from the same source: as the `wasm32-wasip1` command that the
//! native CLI (wasmtime) and the npm package (node:wasi) run with the cache preopened as
//! `/cache`, and as a library the host links for shared types and tests run natively.
//! [`run`] is the whole interface: argv in, the exact bytes to print and an exit code out.
//!
//! Nothing here follows a link out of the cache, calls `canonicalize`, reads the
//! environment or writes outside the cache root it is given.
#![deny(missing_docs)]

pub mod audit;
pub mod capability;
pub mod classify;
pub mod commands;
pub mod diagnostics;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fetch;
pub mod fs;
pub mod health;
pub mod hub;
pub mod json;
pub mod layout;
pub mod location;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod protocol;
pub mod prune;
pub mod refs;
pub mod removal;
pub mod render;
pub mod request;
pub mod resolve;
pub mod runtime;
pub mod scan;
pub mod selection;
pub mod snapshot;
pub mod time;
pub mod trees;
pub mod workspace;

use std::path::Path;
use std::time::SystemTime;

use error::CoreError;
use protocol::Envelope;

/// The root the guest sees its cache at.
pub const GUEST_CACHE_ROOT: &str = "/cache";

/// What one invocation prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Bytes for standard output.
    pub stdout: Vec<u8>,
    /// Bytes for standard error.
    pub stderr: Vec<u8>,
    /// Process exit code: 0 success, 1 operation error, 2 usage error.
    pub code: i32,
}

/// Runs one command line against the cache at `root`, with `now` for human ages.
pub fn run(argv: &[String], root: &Path, now: SystemTime) -> Output {
    let json = request::wants_json(argv);
    let req = match request::parse(argv) {
        Ok(r) => r,
        Err(e) => return usage_error(argv, &e, json),
    };
    // `pull` fills the cache, so it may create a named one (see `location`).
    let creates = matches!(req.command, request::Command::Pull(_));
    let fs = fs::CacheFs::new(root).with_location(req.cache.clone(), creates);
    if let request::Command::Pull(args) = &req.command
        && args.plan
    {
        // The host's half of `pull` reads this; it is not a user-facing document.
        let plan = commands::pull::plan(args, &fs);
        return Output {
            stdout: serde_json::to_vec(&plan).expect("plans always serialize"),
            stderr: Vec::new(),
            code: 0,
        };
    }
    if let request::Command::Pull(args) = &req.command
        && args.step == Some(request::PullStep::WritePlan)
    {
        // Also for the host alone: the Hub's answers in, what to write out.
        return Output {
            stdout: commands::pull::write_step(&args.model),
            stderr: Vec::new(),
            code: 0,
        };
    }
    let target = req.target.clone().map(|m| {
        // The sandbox sees the target's mount at `/target`; the native library, where it is.
        let root = if cfg!(target_os = "wasi") {
            std::path::PathBuf::from(workspace::target::GUEST_ROOT)
        } else {
            std::path::PathBuf::from(&m.root)
        };
        workspace::clone::Target {
            mount: m,
            fs: fs::CacheFs::new(root),
        }
    });
    let workspaces = req.workspace.clone().map(|m| {
        // The sandbox sees the mount at `/workspace`; the native library, where it is.
        let root = if cfg!(target_os = "wasi") {
            std::path::PathBuf::from(workspace::mount::GUEST_ROOT)
        } else {
            std::path::PathBuf::from(&m.root)
        };
        workspace::mount::Workspaces::new(m, &root)
    });
    let home = req.home.clone().map(|root| {
        // The sandbox sees the home at `/workspace-home`; the native library, where it is.
        let at = if cfg!(target_os = "wasi") {
            std::path::PathBuf::from(workspace::home::GUEST_ROOT)
        } else {
            std::path::PathBuf::from(&root)
        };
        workspace::home::Home::new(root, at)
    });
    if let request::Command::Clone(args) = &req.command
        && args.phase == request::ClonePhase::Plan
    {
        let plan = commands::clone::plan(args, &fs, target.as_ref());
        return Output {
            stdout: serde_json::to_vec(&plan).expect("plans always serialize"),
            stderr: Vec::new(),
            code: 0,
        };
    }
    if let request::Command::Run(args) = &req.command
        && args.plan
    {
        let plan = commands::run::plan(&args.model, &fs, workspaces.as_ref(), home.as_ref());
        return Output {
            stdout: serde_json::to_vec(&plan).expect("plans always serialize"),
            stderr: Vec::new(),
            code: 0,
        };
    }
    if let request::Command::Convert(args) = &req.command
        && args.plan
        && let Some(plan) = commands::convert::plan(args, &fs, workspaces.as_ref(), target.as_ref())
    {
        return Output {
            stdout: serde_json::to_vec(&plan).expect("plans always serialize"),
            stderr: Vec::new(),
            code: 0,
        };
    }
    let _ = diagnostics::take();
    let _ = diagnostics::take_notes();
    let outcome = commands::dispatch(
        &req,
        &fs,
        workspaces.as_ref(),
        target.as_ref(),
        home.as_ref(),
        now,
    );
    let code = outcome.exit_code();
    let env = &outcome.envelope;
    let mut stderr = diagnostics::take();
    if req.verbose
        && !req.quiet
        && !req.json
        && let Some(at) = fs.location()
    {
        // `-v`: which cache this was, first.
        let from = match at.origin {
            location::Origin::Default => "the default location".to_owned(),
            origin => format!("from {}", origin.as_str()),
        };
        let mut line = format!("cache: {} ({from})\n", at.path).into_bytes();
        line.append(&mut stderr);
        stderr = line;
    }
    if req.json {
        return Output {
            stdout: json::to_python_json(env),
            stderr,
            code,
        };
    }
    match (&env.error, env.command) {
        (Some(err), Some(cmd)) => {
            // What a partly failed command did (several `rm` targets) is said first.
            let notes = diagnostics::take_notes();
            if !req.quiet {
                stderr.extend(notes);
            }
            stderr.extend(format!("{}: Error: {}\n", cmd.as_str(), err.message).into_bytes());
            stderr.extend(error_details(err, &env.data).into_bytes());
            Output {
                stdout: Vec::new(),
                stderr,
                code,
            }
        }
        _ => {
            let notes = diagnostics::take_notes();
            // `-q`: hints go, and so does the narration of commands that change the cache
            // (their answer is the exit code); a listing is the answer itself and stays.
            let narration = matches!(
                env.command,
                Some(protocol::CommandName::Rm | protocol::CommandName::Prune)
            );
            if !req.quiet {
                stderr.extend(notes);
            }
            Output {
                stdout: if req.quiet && narration {
                    Vec::new()
                } else {
                    outcome.human.into_bytes()
                },
                stderr,
                code,
            }
        }
    }
}

/// What JSON carries beside an error's message, for people: the candidates of an
/// ambiguous name (in `error.matches`, or `data.matches` for `rm`), the locks that block.
fn error_details(err: &protocol::ErrorBody, data: &serde_json::Value) -> String {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = String::new();
    let matches = err
        .matches
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| strings(&data["matches"]));
    if !matches.is_empty() {
        out.push_str("Candidates (name one exactly, or as org/name@rev):\n");
        for m in matches {
            out.push_str(&format!("  {m}\n"));
        }
    }
    let locks = strings(&data["lock_files"]);
    if !locks.is_empty() {
        out.push_str("Held by a running process (a download); -f removes anyway:\n");
        for l in locks {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}

/// A usage problem: a JSON `CommandError` when `--json` is present, else argparse-style
/// text on stderr.
fn usage_error(argv: &[String], e: &CoreError, json: bool) -> Output {
    if json {
        let env = Envelope::failure(None, e.to_body(), serde_json::Value::Null);
        return Output {
            stdout: json::to_python_json(&env),
            stderr: Vec::new(),
            code: e.exit_code(),
        };
    }
    let prog = request::program_name(argv);
    Output {
        stdout: Vec::new(),
        stderr: format!(
            "usage: {prog} [-h] [--version] [--json] {{{}}} ...\n{prog}: error: {e}\n",
            request::COMMANDS.join(",")
        )
        .into_bytes(),
        code: 2,
    }
}

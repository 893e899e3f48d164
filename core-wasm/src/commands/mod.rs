//! One function per command; [`dispatch`] is the only place commands are wired.

pub mod clone;
pub mod convert;
pub mod health;
pub mod list;
pub mod prune;
pub mod pull;
pub mod rm;
pub mod run;
pub mod show;
pub mod version;

use std::time::SystemTime;

use crate::fs::CacheFs;
use crate::protocol::Envelope;
use crate::request::{Command, Request};
use crate::workspace::clone::Target;
use crate::workspace::home::Home;
use crate::workspace::mount::Workspaces;

/// What a command produced: its envelope, and how to show it to a person.
#[derive(Debug)]
pub struct Outcome {
    /// The JSON envelope.
    pub envelope: Envelope,
    /// Human rendering of a success (errors are rendered generically).
    pub human: String,
    /// An exit code other than the envelope's (`health --deep` exits 1 on corruption
    /// although the audit itself succeeded).
    pub exit_code: Option<i32>,
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.exit_code.unwrap_or_else(|| self.envelope.exit_code())
    }
}

/// Runs a parsed request against the cache at `fs`.
pub fn dispatch(
    req: &Request,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    target: Option<&Target>,
    home: Option<&Home>,
    now: SystemTime,
) -> Outcome {
    match &req.command {
        Command::Clone(args) => clone::run(args, fs, target, now),
        Command::Convert(args) => convert::run(args, fs, ws, target, now),
        Command::Run(_) => {
            let e = crate::error::CoreError::Usage(
                "run needs the inference engine, which the mlxk CLI drives: use `mlxk run`".into(),
            );
            Outcome {
                envelope: Envelope::failure(None, e.to_body(), serde_json::Value::Null),
                human: String::new(),
                exit_code: Some(2),
            }
        }
        Command::List(args) => list::run(args, fs, ws, home, now),
        Command::Health(args) => health::run(args, fs, ws, home),
        Command::Show(args) => show::run(args, fs, ws, home, now),
        Command::Rm(args) => rm::run(args, fs, ws, home),
        Command::Prune(args) => prune::run(args, fs, now),
        Command::Pull(args) => pull::run(args, fs),
        Command::Version => version::run(&req.program, req.engine.clone()),
    }
}

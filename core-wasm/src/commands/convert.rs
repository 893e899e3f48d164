//! `convert`, as the host drives it: `--plan` checks and answers with a
//! [`ConvertPlan`]; without it, the work runs into the mounted target.

use std::time::SystemTime;

use super::Outcome;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::protocol::{CommandName, Envelope, to_value};
use crate::request::ConvertArgs;
use crate::workspace::clone::Target;
use crate::workspace::convert::{self, ConvertData, ConvertPlan};
use crate::workspace::mount::Workspaces;

/// The cache's root as 2.0.8 guards it: `$HF_HOME` (the folder holding `hub/`), else the
/// hub cache itself.
fn cache_root(fs: &CacheFs) -> Option<String> {
    let path = fs.location()?.path.clone();
    let trimmed = path.trim_end_matches('/');
    Some(match trimmed.strip_suffix("/hub") {
        Some(parent) if !parent.is_empty() => parent.to_owned(),
        _ => trimmed.to_owned(),
    })
}

/// The check, for the host; `None` when the arguments themselves are refused.
pub fn plan(
    args: &ConvertArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    target: Option<&Target>,
) -> Option<ConvertPlan> {
    let req = args.request.as_ref().ok()?;
    Some(convert::plan(req, ws, target, cache_root(fs).as_deref()))
}

/// The envelope of a convert that ended with `data` and `error`.
pub fn envelope(data: ConvertData, error: Option<&CoreError>) -> Envelope {
    match error {
        Some(e) => Envelope::failure(Some(CommandName::Convert), e.to_body(), to_value(data)),
        None => Envelope::success(CommandName::Convert, data),
    }
}

/// Runs the work (or reports the argument error).
pub fn run(
    args: &ConvertArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    target: Option<&Target>,
    now: SystemTime,
) -> Outcome {
    let req = match &args.request {
        Ok(r) => r,
        Err(msg) => {
            let e = CoreError::InvalidArgument(msg.clone());
            return Outcome {
                envelope: Envelope::failure(
                    Some(CommandName::Convert),
                    e.to_body(),
                    serde_json::Value::Null,
                ),
                human: String::new(),
                exit_code: None,
            };
        }
    };
    let (data, error) = convert::run(req, ws, target, cache_root(fs).as_deref(), now);
    Outcome {
        human: convert::human(&data),
        envelope: envelope(data, error.as_ref()),
        exit_code: None,
    }
}

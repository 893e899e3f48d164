//! `clone`, as the host drives it: `--plan` answers with a [`ClonePlan`] for the host;
//! `--finish` copies into the mounted target and answers with the envelope.

use std::time::SystemTime;

use super::Outcome;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::protocol::{CloneData, ClonePlan, CommandName, Envelope, to_value};
use crate::request::{CloneArgs, ClonePhase};
use crate::workspace::clone::{self, Finish, Target};

/// The plan, for the host (not a user-facing document).
pub fn plan(args: &CloneArgs, fs: &CacheFs, target: Option<&Target>) -> ClonePlan {
    clone::plan(&args.request, fs, target)
}

/// The envelope of a clone that ended with `data` and `error`.
pub fn envelope(data: CloneData, error: Option<&CoreError>) -> Envelope {
    match error {
        Some(e) => Envelope::failure(Some(CommandName::Clone), e.to_body(), to_value(data)),
        None => Envelope::success(CommandName::Clone, data),
    }
}

/// Runs the finish.
pub fn run(args: &CloneArgs, fs: &CacheFs, target: Option<&Target>, now: SystemTime) -> Outcome {
    let (
        ClonePhase::Finish {
            from,
            commit,
            fresh,
        },
        Some(target),
    ) = (&args.phase, target)
    else {
        let e = CoreError::Usage("clone --finish needs its target mounted".into());
        return Outcome {
            envelope: envelope(CloneData::default(), Some(&e)),
            human: String::new(),
            exit_code: Some(2),
        };
    };
    let how = Finish {
        from: *from,
        commit: commit.clone(),
        fresh: *fresh,
    };
    let done = clone::finish(&args.request, &how, fs, target, now);
    Outcome {
        human: clone::human(&done.data, args.quiet),
        envelope: envelope(done.data, done.error.as_ref()),
        exit_code: None,
    }
}

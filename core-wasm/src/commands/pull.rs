//! `pull model[@rev] [--force-resume]`, the local half (reference §1.7, §5): validate the
//! name, resolve it in the cache, and decide from the cached copy's health whether the
//! network is needed at all. The host does the download when the plan says so; this
//! module never touches the network.

use super::Outcome;
use crate::error::CoreError;
use crate::fetch;
use crate::fs::CacheFs;
use crate::model;
use crate::protocol::{CommandName, Envelope, ErrorBody, PullData, PullPlan, to_value};
use crate::request::PullArgs;
use crate::resolve::{self, Resolution};
use crate::scan::{self, CachedRepo};

/// The reference's suffix of a `requires_confirmation` message.
pub const RESUME_HINT: &str = "Use --force-resume to attempt resume or 'mlxk rm' to delete.";

fn reply(data: PullData, error: Option<&CoreError>) -> PullPlan {
    PullPlan::Reply {
        data: Box::new(data),
        error: error.map(CoreError::to_body),
    }
}

fn status(s: &str) -> String {
    s.to_owned()
}

/// Decides what `pull` must do; nothing is written and nothing leaves the machine.
pub fn plan(args: &PullArgs, fs: &CacheFs) -> PullPlan {
    let spec = args.model.as_str();
    let mut data = PullData {
        download_status: status("error"),
        ..PullData::default()
    };
    if let Err(msg) = fetch::validate_name(spec) {
        return reply(data, Some(&CoreError::InvalidName(msg)));
    }
    // The reference compares with the text before the first `@`.
    let typed = spec.split('@').next().unwrap_or_default().trim();
    let wanted = resolve::parse_spec(spec).revision;
    let resolution = match scan::scan_cache(fs) {
        Ok(info) if info.exists => resolve::resolve(fs, &info, spec),
        Ok(_) => Resolution::NotFound,
        Err(e) => return reply(data, Some(&e)),
    };
    let fetch = |repo_id: &str, revision: Option<&str>| -> PullPlan {
        let revision = revision.unwrap_or(crate::layout::DEFAULT_REF);
        if !fetch::is_safe_ref_name(revision) {
            let msg = format!("Invalid revision: '{revision}'");
            return reply(data.clone(), Some(&CoreError::InvalidName(msg)));
        }
        PullPlan::Fetch {
            repo_id: repo_id.to_owned(),
            revision: revision.to_owned(),
            expanded_name: (repo_id != typed).then(|| repo_id.to_owned()),
        }
    };
    // A cached repo at a revision: answer from the cache, unless told to fetch anyway.
    let cached = |repo: CachedRepo, revision: Option<String>, remote: Option<&str>| {
        if args.force_resume {
            return fetch(&repo.repo_id, remote);
        }
        let mut data = data.clone();
        let eval = model::evaluate(fs, &repo, revision.as_deref());
        data.expanded_name = (repo.repo_id != typed).then(|| repo.repo_id.clone());
        data.commit_hash = revision.or_else(|| eval.object.hash.clone());
        if eval.health.healthy {
            data.download_status = status("already_exists");
            data.message = format!("Model {} already exists in cache", repo.repo_id);
        } else {
            data.download_status = status("requires_confirmation");
            data.message = format!("{}. {RESUME_HINT}", eval.health.reason);
        }
        data.model = Some(repo.repo_id);
        reply(data, None)
    };
    match resolution {
        Resolution::Found {
            repo,
            revision,
            by_ref,
            ..
        } => {
            // A branch or tag is fetched again by its name (it may have moved); a commit
            // prefix by the full commit.
            let remote = if by_ref {
                wanted.map(str::to_owned)
            } else {
                revision.clone()
            };
            cached(repo, revision, remote.as_deref().or(wanted))
        }
        Resolution::Ambiguous(matches) | Resolution::AmbiguousRevision(matches) => {
            data.download_status = status("unknown");
            let e = CoreError::AmbiguousMatch {
                spec: spec.to_owned(),
                matches,
            };
            reply(data, Some(&e))
        }
        // Not in the cache under that name or prefix: the Hub may have it.
        Resolution::RevisionNotFound { repo, .. } => fetch(&repo.repo_id, wanted),
        Resolution::NotFound => {
            let name = resolve::parse_spec(spec).name.trim();
            match fetch::validate_repo_id(name) {
                Ok(()) => fetch(name, wanted),
                Err(msg) => reply(data, Some(&CoreError::InvalidName(msg))),
            }
        }
    }
}

/// The envelope of a reply.
pub fn envelope(data: PullData, error: Option<ErrorBody>) -> Envelope {
    match error {
        Some(body) => Envelope::failure(Some(CommandName::Pull), body, to_value(data)),
        None => Envelope::success(CommandName::Pull, data),
    }
}

/// The reference's human line for a pull that did not fail: `pull: <model> — <message>`.
pub fn human(data: &PullData) -> String {
    format!(
        "pull: {} \u{2014} {}\n",
        data.model.as_deref().unwrap_or_default(),
        data.message
    )
}

/// Runs `pull` inside the module alone (the npm package, a stock runtime): it answers
/// what the cache can answer; a download needs the CLI, which has the network.
pub fn run(args: &PullArgs, fs: &CacheFs) -> Outcome {
    let (data, error) = match plan(args, fs) {
        PullPlan::Reply { data, error } => (*data, error),
        PullPlan::Fetch {
            repo_id,
            expanded_name,
            revision,
        } => {
            let data = PullData {
                model: Some(repo_id.clone()),
                download_status: status("failed"),
                expanded_name,
                ..PullData::default()
            };
            let why = format!(
                "'{repo_id}@{revision}' is not in the cache, and this runtime has no network access (use the mlxk CLI)"
            );
            (data, Some(CoreError::DownloadFailed(why).to_body()))
        }
    };
    let human = human(&data);
    Outcome {
        envelope: envelope(data, error),
        human,
        exit_code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_for(spec: &str) -> PullPlan {
        let dir = tempfile::tempdir().unwrap();
        let fs = CacheFs::new(dir.path());
        plan(
            &PullArgs {
                model: spec.into(),
                ..PullArgs::default()
            },
            &fs,
        )
    }

    #[test]
    fn uncached_names_go_to_the_network_with_their_revision() {
        assert_eq!(
            plan_for("org/m@v1.0"),
            PullPlan::Fetch {
                repo_id: "org/m".into(),
                revision: "v1.0".into(),
                expanded_name: None
            }
        );
        assert!(matches!(plan_for("gpt2"), PullPlan::Fetch { revision, .. } if revision == "main"));
    }

    #[test]
    fn bad_names_never_leave_the_machine() {
        for (spec, code) in [
            ("", "ValidationError"),
            ("org//x", "ValidationError"),
            ("../../etc", "ValidationError"),
            ("org/x@../../main", "ValidationError"),
        ] {
            match plan_for(spec) {
                PullPlan::Reply {
                    data,
                    error: Some(e),
                } => {
                    assert_eq!(e.kind, code, "{spec}");
                    assert_eq!(data.download_status, "error");
                }
                other => panic!("{spec}: {other:?}"),
            }
        }
    }
}

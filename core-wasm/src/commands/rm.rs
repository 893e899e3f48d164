//! `rm model[@rev]... [--files GLOB...] [-f] [--dry-run]`: resolve, refuse on held locks or
//! unconfirmed fuzzy matches (reference §1.8, §6), then remove what [`crate::removal`]
//! decides: the repo, one revision, or (`--files`) some files of one snapshot.
//!
//! One target prints the reference's envelope. Several are removed one after the other,
//! each resolved against the cache as the previous left it, and print one envelope whose
//! `data` is `{"targets": [<each target's envelope>], "freed_bytes": <sum>}`; it is an
//! error (the first failure's `type`) when any target failed, and every target is still
//! tried.

use super::Outcome;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::protocol::{CommandName, Envelope, RmData, to_value};
use crate::removal::{self, Scope};
use crate::request::RmArgs;
use crate::resolve::{self, MatchKind, Resolution};
use crate::scan;
use crate::workspace::home::Home;
use crate::workspace::mount::Workspaces;

/// The reference's starting `data`.
fn base() -> RmData {
    RmData {
        action: "unknown",
        ..RmData::default()
    }
}

fn failure(e: &CoreError, data: RmData) -> Outcome {
    let mut body = e.to_body();
    // rm reports candidates in `data.matches` only.
    body.matches = None;
    Outcome {
        envelope: Envelope::failure(Some(CommandName::Rm), body, to_value(data)),
        human: String::new(),
        exit_code: None,
    }
}

/// Runs `rm`.
pub fn run(args: &RmArgs, fs: &CacheFs, ws: Option<&Workspaces>, home: Option<&Home>) -> Outcome {
    if let [one] = args.models.as_slice() {
        return run_one(one, args, fs, ws, home);
    }
    let outcomes: Vec<(String, Outcome)> = args
        .models
        .iter()
        .map(|m| (m.clone(), run_one(m, args, fs, ws, home)))
        .collect();
    several(outcomes)
}

/// The envelope of several targets.
fn several(outcomes: Vec<(String, Outcome)>) -> Outcome {
    let mut human = String::new();
    let mut failed = Vec::new();
    let mut freed = 0u64;
    let mut targets = Vec::new();
    for (spec, o) in &outcomes {
        let env = &o.envelope;
        freed += env.data["freed_bytes"].as_u64().unwrap_or(0);
        match &env.error {
            // Failures are said once, in the error on stderr.
            Some(e) => failed.push((spec, e)),
            None => human.push_str(&o.human),
        }
        targets.push(to_value(env));
    }
    let data = serde_json::json!({ "targets": targets, "freed_bytes": freed });
    let envelope = match failed.first() {
        None => Envelope::success(CommandName::Rm, data),
        Some((_, first)) => {
            // Human mode prints no success output with an error: what did go is a note.
            for line in human.lines() {
                crate::diagnostics::note(line);
            }
            let listed: Vec<String> = failed
                .iter()
                .map(|(spec, e)| format!("{spec}: {}", e.message))
                .collect();
            let body = crate::protocol::ErrorBody {
                kind: first.kind.clone(),
                message: format!(
                    "{} of {} targets failed: {}",
                    failed.len(),
                    outcomes.len(),
                    listed.join("; ")
                ),
                matches: None,
                available_hashes: None,
                available_refs: None,
            };
            Envelope::failure(Some(CommandName::Rm), body, data)
        }
    };
    Outcome {
        envelope,
        human,
        exit_code: None,
    }
}

/// One target.
fn run_one(
    model: &str,
    args: &RmArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    home: Option<&Home>,
) -> Outcome {
    // A workspace belongs to its owner: this tool never deletes one (reference §1.8).
    if resolve::is_explicit_path(model.trim())
        && let Some(ws) = ws.filter(|w| w.mount_is_workspace())
    {
        return failure(&CoreError::WorkspaceModel(ws.mount.name_of("")), base());
    }
    // Nor one a bare name reaches in the workspace home (it shadows the cache there).
    if !resolve::is_explicit_path(model.trim())
        && let Some(h) = home
        && let Some(child) = h.find(model)
    {
        let name = h.child(&child).mount.name_of("");
        let data = RmData {
            model: Some(name.clone()),
            ..base()
        };
        return failure(&CoreError::WorkspaceModel(name), data);
    }
    let info = match scan::scan_cache(fs) {
        Ok(info) if info.exists => info,
        Ok(_) => return failure(&CoreError::CacheNotFound, base()),
        Err(e) => return failure(&e, base()),
    };
    let spec = model;
    let (repo, revision, kind) = match resolve::resolve(fs, &info, spec) {
        Resolution::Found {
            repo,
            revision,
            kind,
            ..
        } => (repo, revision, kind),
        Resolution::Ambiguous(matches) | Resolution::AmbiguousRevision(matches) => {
            let e = CoreError::AmbiguousMatch {
                spec: spec.to_owned(),
                matches: matches.clone(),
            };
            let data = RmData {
                action: "ambiguous",
                matches,
                ..base()
            };
            return failure(&e, data);
        }
        Resolution::RevisionNotFound {
            repo,
            available,
            refs,
        } => {
            // A revision whose removal was interrupted may have lost its refs or its
            // snapshot: finishing the job is what a rerun is for.
            let rev = resolve::parse_spec(spec).revision.unwrap_or_default();
            match removal::interrupted(fs, &repo.folder, rev) {
                Some(commit) => (repo, Some(commit), MatchKind::Exact),
                _ => {
                    let e = CoreError::RevisionNotFound {
                        spec: spec.to_owned(),
                        plural: true,
                        available,
                        refs,
                    };
                    let data = RmData {
                        model: Some(repo.repo_id),
                        ..base()
                    };
                    return failure(&e, data);
                }
            }
        }
        Resolution::NotFound => {
            return failure(&CoreError::NoModelsMatch(spec.to_owned()), base());
        }
    };
    let mut data = RmData {
        model: Some(repo.repo_id.clone()),
        ..base()
    };

    // Only a lock of this exact repo that a live process holds (or, where locks cannot
    // be probed, any lock while a download is unfinished) blocks; `-f` overrides.
    let blocking: Vec<String> = removal::blocking_locks(fs, &repo.folder)
        .into_iter()
        .map(|l| l.path.to_string_lossy().into_owned())
        .collect();
    if !blocking.is_empty() && !args.force {
        data.locks_detected = Some(true);
        data.lock_files = Some(blocking);
        return failure(&CoreError::LocksPresent, data);
    }
    if kind != MatchKind::Exact && !args.force {
        data.action = "requires_confirmation";
        data.requires_confirmation = true;
        data.message = format!("Would delete '{}' (matched from '{spec}')", repo.repo_id);
        return success(data);
    }

    if !args.files.is_everything() {
        return remove_files(fs, &repo, revision, args, data);
    }
    let scope = removal::scope(fs, &repo.folder, revision.as_deref());
    let result = removal::remove(fs, &repo.folder, &scope, args.dry_run);
    let target = match &revision {
        Some(rev) => format!("{}@{rev}", repo.repo_id),
        None => format!("entire model {}", repo.repo_id),
    };
    data.commit_hash.clone_from(&revision);
    data.removed = Some(match scope {
        Scope::Repository => "repository",
        Scope::Revision(_) => "revision",
    });
    match result {
        Ok(done) => {
            data.lock_files_cleaned = done.locks_cleaned;
            data.freed_bytes = Some(done.freed);
            if args.dry_run {
                data.action = "would_delete";
                data.message = format!("Would delete {target}");
                data.dry_run = Some(true);
            } else {
                data.action = "deleted";
                data.message = format!("Deleted {target}");
            }
            success(data)
        }
        Err(e) => failure(&e, data),
    }
}

/// `--files`: some files of one snapshot (the one `@rev` names, else the one `list` shows).
fn remove_files(
    fs: &CacheFs,
    repo: &crate::scan::CachedRepo,
    revision: Option<String>,
    args: &RmArgs,
    mut data: RmData,
) -> Outcome {
    let commit = match crate::snapshot::select(fs, &repo.folder, revision.as_deref()) {
        crate::snapshot::Selection::Snapshot { revision, .. } => revision,
        _ => return failure(&CoreError::NoModelsMatch(repo.repo_id.clone()), data),
    };
    data.commit_hash = Some(commit.clone());
    data.removed = Some("files");
    let patterns = args.files.include.join("' '");
    match removal::remove_files(fs, &repo.folder, &commit, &args.files, args.dry_run) {
        Ok(done) if done.paths.is_empty() => {
            let e = CoreError::NoMatchingFiles(format!(
                "No file of {}@{commit} matches --files '{patterns}'",
                repo.repo_id
            ));
            failure(&e, data)
        }
        Ok(done) => {
            let n = done.paths.len();
            let what = format!(
                "{n} file{} of {}@{} ({})",
                if n == 1 { "" } else { "s" },
                repo.repo_id,
                &commit[..commit.len().min(8)],
                crate::render::humanize_size(done.freed)
            );
            data.freed_bytes = Some(done.freed);
            data.files = Some(done.paths);
            if args.dry_run {
                data.action = "would_delete";
                data.message = format!("Would delete {what}");
                data.dry_run = Some(true);
            } else {
                data.action = "deleted";
                data.message = format!("Deleted {what}");
            }
            success(data)
        }
        Err(e) => failure(&e, data),
    }
}

fn success(data: RmData) -> Outcome {
    // People also want to know how much: the JSON says it in `freed_bytes`.
    let freed = match (data.freed_bytes, data.files.is_some()) {
        (Some(n), false) => format!(" ({} freed)", crate::render::humanize_size(n)),
        _ => String::new(),
    };
    let freed = if data.dry_run == Some(true) {
        freed.replace(" freed)", " would be freed)")
    } else {
        freed
    };
    let human = format!(
        "rm: {} \u{2014} {}: {}{freed}\n",
        data.model.as_deref().unwrap_or_default(),
        data.action,
        data.message
    );
    Outcome {
        envelope: Envelope::success(CommandName::Rm, data),
        human,
        exit_code: None,
    }
}

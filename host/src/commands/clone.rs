//! `mlxk clone`: the guest checks the target and decides where the files come from
//! (`clone --plan`); the host downloads into the temporary cache beside the target when
//! it must (`crate::pull`, the same verified, resumable engine as `pull`); the guest then
//! verifies and copies the files into the target and pins it (`clone --finish`). The host
//! only creates the folders the plan names and removes what it created.

use std::path::{Path, PathBuf};

use core_wasm::error::CoreError;
use core_wasm::location::Origin;
use core_wasm::protocol::{CloneData, ClonePlan, CloneSource, CommandName};
use core_wasm::workspace::clone::TEMP_SENTINEL;
use core_wasm::workspace::target::{self, TargetMount};
use wasmtime_wasi::FsPerms;

use super::{Access, Context, ExitStatus, Sandbox, Work, capture_in, report_failure};
use crate::cli::CloneArgs;
use crate::env;
use crate::printer;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs a clone.
pub fn run(ctx: &Context, args: &CloneArgs) -> ExitStatus {
    let spec = match &args.branch {
        Some(b) => format!("{}@{b}", args.model),
        None => args.model.clone(),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = env::workspace_home(var);
    let resolved =
        match target::clone_target(&spec, args.target_dir.as_deref(), home.as_ref(), &cwd) {
            Ok(r) => r,
            Err(e) => {
                // 2.0.8 prints these before the operation, as plain text; with `--json` they
                // are an envelope here, like every other error.
                if ctx.json {
                    let data = CloneData {
                        model: spec,
                        clone_status: "error".into(),
                        health_check: !args.no_health_check,
                        ..CloneData::default()
                    };
                    emit_error(ctx, data, &CoreError::InvalidTarget(e.to_string()));
                } else {
                    printer::stderr(format!("Error: {e}\n").as_bytes());
                }
                return ExitStatus::Failure;
            }
        };
    let mut common = vec![];
    if args.no_health_check {
        common.push("--no-health-check".to_owned());
    }
    if ctx.quiet {
        common.push("--quiet".to_owned());
    }

    // The plan: the target's parent, read-only, and the user's cache, read-only.
    let check = check_mount(&resolved.path);
    let mut sandbox = Sandbox::for_cache(ctx, Access::ReadCache);
    sandbox.options.extend(check.mount.to_args());
    if let Some(dir) = &check.dir {
        sandbox
            .mounts
            .push((dir.clone(), target::GUEST_ROOT, FsPerms::ReadOnly));
    }
    let mut argv = vec!["clone".to_owned(), "--plan".to_owned()];
    argv.extend(common.iter().cloned());
    if args.force_resume {
        argv.push("--force-resume".into());
    }
    if resolved.from_home {
        argv.push("--from-home".into());
    }
    argv.extend(["--".into(), spec.clone(), resolved.typed.clone()]);
    let quiet = Context {
        json: false,
        ..ctx.clone()
    };
    let plan: ClonePlan = match capture_in(&quiet, &sandbox, argv, Work::Quick).and_then(|out| {
        serde_json::from_slice(&out.stdout).map_err(|e| {
            crate::runtime::GuestFailure::Setup(anyhow::anyhow!(
                "the core's clone plan is unreadable ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        })
    }) {
        Ok(p) => p,
        Err(f) => {
            report_failure(ctx, CommandName::Clone, &f);
            return ExitStatus::Failure;
        }
    };

    let (from, commit, fresh, target_dir, temp) = match plan {
        ClonePlan::Reply { data, error } => {
            let e = error;
            if ctx.json {
                let env = core_wasm::protocol::Envelope::failure(
                    Some(CommandName::Clone),
                    e,
                    core_wasm::protocol::to_value(data),
                );
                printer::stdout(&core_wasm::json::to_python_json(&env));
            } else {
                printer::stderr(format!("clone: Error: {}\n", e.message).as_bytes());
            }
            return ExitStatus::Failure;
        }
        ClonePlan::Copy {
            from,
            commit,
            target_dir,
            temp_name,
            notice,
            ..
        } => {
            note(notice.as_deref());
            let temp = parent_of(&target_dir).join(temp_name);
            (from, commit, false, target_dir, temp)
        }
        ClonePlan::Download {
            repo_id,
            revision,
            target_dir,
            temp_name,
            wipe_temp,
            temp_marker,
            notice,
        } => {
            note(notice.as_deref());
            let temp = parent_of(&target_dir).join(temp_name);
            let data = CloneData {
                model: spec.clone(),
                clone_status: "pull_failed".into(),
                target_dir: target_dir.clone(),
                health_check: !args.no_health_check,
                ..CloneData::default()
            };
            match download(ctx, &repo_id, &revision, &temp, wipe_temp, &temp_marker) {
                Ok(commit) => (CloneSource::Temp, commit, true, target_dir, temp),
                Err(e) => {
                    emit_error(ctx, data, &e);
                    return ExitStatus::Failure;
                }
            }
        }
    };

    // The finish: the target itself, writable, and the cache the files come from.
    let target = PathBuf::from(&target_dir);
    let created = match std::fs::create_dir(&target) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            let data = CloneData {
                model: spec,
                clone_status: "filesystem_error".into(),
                target_dir,
                health_check: !args.no_health_check,
                ..CloneData::default()
            };
            let e = CoreError::CloneFailed(format!("Cannot create the target: {e}"));
            emit_error(ctx, data, &e);
            return ExitStatus::Failure;
        }
    };
    let (cache_dir, perms, location) = match from {
        CloneSource::Cache => (
            ctx.cache_dir.clone(),
            FsPerms::ReadOnly,
            env::cache_location(&ctx.cache_dir, ctx.cache_origin),
        ),
        // Writable for the completion marker only.
        CloneSource::Temp => (
            temp.clone(),
            if fresh {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            },
            env::cache_location(&temp, Origin::Flag),
        ),
    };
    let mount = TargetMount {
        root: target_dir.clone(),
        child: None,
        parent_missing: false,
    };
    let mut options = location.to_args();
    options.extend(mount.to_args());
    let sandbox = Sandbox {
        cache: Some((cache_dir, perms)),
        options,
        mounts: vec![(target.clone(), target::GUEST_ROOT, FsPerms::ReadWrite)],
    };
    let mut argv = vec!["clone".to_owned(), "--finish".to_owned()];
    argv.push(match from {
        CloneSource::Cache => "--from-cache".into(),
        CloneSource::Temp => "--from-temp".into(),
    });
    if fresh {
        argv.push("--fresh".into());
    }
    argv.extend(common);
    argv.extend(["--".into(), spec, resolved.typed.clone(), commit]);
    let status = super::run_in(ctx, CommandName::Clone, &sandbox, argv, Work::Audit);
    if status == ExitStatus::Success {
        if from == CloneSource::Temp {
            remove_temp(&temp);
        }
    } else if created {
        // Only an empty folder: whatever was copied stays for the user to see.
        let _ = std::fs::remove_dir(&target);
    }
    status
}

/// The mount for checking `target`: the folder holding it (links resolved), read-only.
pub(crate) struct CheckMount {
    pub(crate) mount: TargetMount,
    pub(crate) dir: Option<PathBuf>,
}

pub(crate) fn check_mount(target: &Path) -> CheckMount {
    // An existing target is named by its real path, as 2.0.8's `resolve()` does.
    let real = std::fs::canonicalize(target).ok();
    let named = real.as_deref().unwrap_or(target);
    let (parent, child) = match (named.parent(), named.file_name()) {
        (Some(p), Some(c)) => (p.to_path_buf(), Some(c.to_string_lossy().into_owned())),
        _ => (named.to_path_buf(), None),
    };
    match std::fs::canonicalize(&parent).ok().filter(|p| p.is_dir()) {
        Some(dir) => CheckMount {
            mount: TargetMount {
                root: dir.to_string_lossy().into_owned(),
                child,
                parent_missing: false,
            },
            dir: Some(dir),
        },
        None => CheckMount {
            mount: TargetMount {
                root: parent.to_string_lossy().into_owned(),
                child,
                parent_missing: true,
            },
            dir: None,
        },
    }
}

fn parent_of(target_dir: &str) -> PathBuf {
    Path::new(target_dir)
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

fn note(notice: Option<&str>) {
    if let Some(n) = notice {
        printer::stderr(format!("{n}\n").as_bytes());
    }
}

fn emit_error(ctx: &Context, data: CloneData, e: &CoreError) {
    if ctx.json {
        let env = core_wasm::commands::clone::envelope(data, Some(e));
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        printer::stderr(format!("clone: Error: {e}\n").as_bytes());
    }
}

/// Removes a temporary cache, but only one `clone` made (it holds the marker).
fn remove_temp(temp: &Path) {
    if temp.join(TEMP_SENTINEL).is_file() {
        let _ = std::fs::remove_dir_all(temp);
    }
}

/// Whether a temporary cache holds nothing but its marker.
#[cfg(feature = "network")]
fn holds_nothing(temp: &Path) -> bool {
    std::fs::read_dir(temp).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .all(|e| e.file_name() == TEMP_SENTINEL)
    })
}

/// Downloads into the temporary cache; returns the commit.
#[cfg(feature = "network")]
fn download(
    ctx: &Context,
    repo_id: &str,
    revision: &str,
    temp: &Path,
    wipe: bool,
    marker: &str,
) -> Result<String, CoreError> {
    if let Some(name) = env::offline(var) {
        let e = CoreError::Offline(name.to_owned(), repo_id.to_owned());
        return Err(CoreError::CloneDownload(e.to_string()));
    }
    if wipe {
        remove_temp(temp);
    }
    let fresh = !temp.exists();
    let prepared = std::fs::create_dir_all(temp).and_then(|()| {
        let sentinel = temp.join(TEMP_SENTINEL);
        if sentinel.exists() {
            Ok(())
        } else {
            std::fs::write(sentinel, marker)
        }
    });
    if let Err(e) = prepared {
        return Err(CoreError::CloneDownload(format!(
            "Cannot create the temporary cache {}: {e}",
            temp.display()
        )));
    }
    let req = super::pull::request(
        ctx,
        repo_id.to_owned(),
        revision.to_owned(),
        temp.to_path_buf(),
    );
    match crate::pull::pull(&req) {
        Ok(done) => Ok(done.commit),
        Err(f) => {
            if fresh && holds_nothing(temp) {
                // Refused before anything was written: nothing worth keeping.
                remove_temp(temp);
            } else {
                printer::stderr(
                    format!(
                        "Partial download kept at: {}\nTo resume: run the same command again (same model + target).\n",
                        temp.display()
                    )
                    .as_bytes(),
                );
            }
            Err(CoreError::CloneDownload(f.error.to_string()))
        }
    }
}

/// A build without the `network` feature clones from the cache only.
#[cfg(not(feature = "network"))]
fn download(
    _ctx: &Context,
    repo_id: &str,
    revision: &str,
    _temp: &Path,
    _wipe: bool,
    _marker: &str,
) -> Result<String, CoreError> {
    Err(CoreError::CloneDownload(format!(
        "{repo_id}@{revision} is not in the cache, and this build of mlxk has no network"
    )))
}

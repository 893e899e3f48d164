//! `mlxk pull`: the guest decides from the cache whether the network is needed (name
//! validation, local resolution, health); the host downloads (`crate::pull`); the guest
//! then checks the pulled revision's health. One envelope either way.

use std::io::{BufRead, IsTerminal, Write};
#[cfg(feature = "network")]
use std::time::Duration;

use core_wasm::commands::pull::{envelope, human};
use core_wasm::error::CoreError;
use core_wasm::protocol::{CommandName, ErrorBody, PullData, PullPlan};
use core_wasm::selection::Selection;
#[cfg(feature = "network")]
use serde_json::Value;

use super::{Access, Context, ExitStatus, Work, capture_guest, report_failure};
use crate::cli::PullArgs;
use crate::env;
#[cfg(feature = "network")]
use crate::env::EnvVars;
use crate::printer;
#[cfg(feature = "network")]
use crate::pull::{self, hub::RetryPolicy};
use crate::runtime::GuestFailure;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(feature = "network")]
fn number(name: &str) -> Option<u64> {
    var(name)?.trim().parse().ok()
}

/// Asks the guest what to do.
fn plan(ctx: &Context, args: &PullArgs, force_resume: bool) -> Result<PullPlan, GuestFailure> {
    let model = args.model.as_str();
    let mut argv = vec!["pull".to_owned(), "--plan".to_owned()];
    if force_resume {
        argv.push("--force-resume".to_owned());
    }
    for (flag, patterns) in [("--include", &args.include), ("--exclude", &args.exclude)] {
        argv.extend(patterns.iter().map(|p| format!("{flag}={p}")));
    }
    argv.extend(["--".to_owned(), model.to_owned()]);
    let quiet = Context {
        json: false,
        ..ctx.clone()
    };
    let out = capture_guest(&quiet, argv, Access::ReadCache, Work::Quick)?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        GuestFailure::Setup(anyhow::anyhow!(
            "the core's pull plan is unreadable ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// Downloads a repo.
pub fn run(ctx: &Context, args: &PullArgs) -> ExitStatus {
    let mut force = args.force_resume;
    loop {
        let decided = match plan(ctx, args, force) {
            Ok(p) => p,
            Err(f) => {
                report_failure(ctx, CommandName::Pull, &f);
                return ExitStatus::Failure;
            }
        };
        let (data, error) = match decided {
            PullPlan::Fetch {
                repo_id,
                revision,
                expanded_name,
                selection,
                ..
            } => download(ctx, repo_id, revision, expanded_name, selection),
            PullPlan::Reply { data, error } => {
                let data = *data;
                if error.is_none() && data.download_status == "requires_confirmation" && !ctx.json {
                    match confirm(&data) {
                        Confirm::Resume => {
                            force = true;
                            continue;
                        }
                        Confirm::Cancelled => return ExitStatus::Success,
                        Confirm::NotAsked => {
                            let body = ErrorBody {
                                kind: "requires_confirmation".into(),
                                message: data.message.clone(),
                                matches: None,
                                available_hashes: None,
                                available_refs: None,
                            };
                            return emit(ctx, data, Some(body));
                        }
                    }
                }
                (data, error)
            }
        };
        return emit(ctx, data, error);
    }
}

enum Confirm {
    Resume,
    Cancelled,
    NotAsked,
}

/// The reference's question on a terminal; anything but a terminal is not asked.
fn confirm(data: &PullData) -> Confirm {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Confirm::NotAsked;
    }
    let name = data.model.as_deref().unwrap_or_default();
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "Model '{name}' has partial download:\n  {}\nResume download? [Y/n]: ",
        data.message
    );
    let _ = err.flush();
    let mut line = String::new();
    let _ = stdin.lock().read_line(&mut line);
    match line.trim().to_ascii_lowercase().as_str() {
        "" | "y" | "yes" => Confirm::Resume,
        _ => {
            printer::stderr(
                format!(
                    "Download cancelled. Partial download kept.\nUse 'mlxk rm {name}' to delete if needed.\n"
                )
                .as_bytes(),
            );
            Confirm::Cancelled
        }
    }
}

fn download(
    ctx: &Context,
    repo_id: String,
    revision: String,
    expanded_name: Option<String>,
    selection: Selection,
) -> (PullData, Option<ErrorBody>) {
    let data = PullData {
        model: Some(repo_id.clone()),
        download_status: "failed".into(),
        expanded_name,
        ..PullData::default()
    };
    if let Some(name) = env::offline(var) {
        let e = CoreError::Offline(name.to_owned(), repo_id);
        return (data, Some(e.to_body()));
    }
    fetch(ctx, data, repo_id, revision, selection)
}

/// A build without the `network` feature answers from the cache only.
#[cfg(not(feature = "network"))]
fn fetch(
    _ctx: &Context,
    data: PullData,
    repo_id: String,
    revision: String,
    _selection: Selection,
) -> (PullData, Option<ErrorBody>) {
    let e = CoreError::DownloadFailed(format!(
        "{repo_id}@{revision} is not in the cache, and this build of mlxk has no network"
    ));
    (data, Some(e.to_body()))
}

/// Downloads through [`crate::pull`] and checks the result's health in the guest.
#[cfg(feature = "network")]
fn fetch(
    ctx: &Context,
    mut data: PullData,
    repo_id: String,
    revision: String,
    selection: Selection,
) -> (PullData, Option<ErrorBody>) {
    let mut req = request(ctx, repo_id.clone(), revision, ctx.cache_dir.clone());
    req.selection = selection;
    match pull::pull(&req) {
        Ok(done) => {
            data.download_status = "success".into();
            data.message = format!("Downloaded to {}", done.snapshot.display());
            data.health = Some(health(ctx, &repo_id, &done.commit));
            data.commit_hash = Some(done.commit);
            data.files_total = Some(done.files);
            data.files_downloaded = Some(done.downloaded);
            data.bytes_downloaded = Some(done.bytes);
            (data, None)
        }
        Err(f) => {
            data.download_status = f.download_status.into();
            data.commit_hash = f.commit;
            data.preflight_warning = f.preflight_warning;
            (data, Some(f.error.to_body()))
        }
    }
}

/// A download of `repo_id@revision` into `cache_dir`, tuned by the environment.
#[cfg(feature = "network")]
pub(crate) fn request(
    ctx: &Context,
    repo_id: String,
    revision: String,
    cache_dir: std::path::PathBuf,
) -> pull::Request {
    pull::Request {
        repo_id,
        revision,
        cache_dir,
        endpoint: env::endpoint(var),
        token: env::token(var),
        jobs: number(EnvVars::MLXK_PULL_JOBS).map_or(8, |n| n as usize),
        retry: RetryPolicy {
            attempts: number(EnvVars::MLXK_PULL_RETRIES).map_or(5, |n| n.clamp(1, 100) as u32),
            base: Duration::from_millis(500),
            stall: Duration::from_secs(
                number(EnvVars::MLXK_PULL_TIMEOUT_SECS).map_or(60, |n| n.max(1)),
            ),
        },
        lock_timeout: Duration::from_secs(number(EnvVars::MLXK_LOCK_TIMEOUT_SECS).unwrap_or(600)),
        progress: !ctx.json,
        selection: Selection::default(),
    }
}

/// The guest's verdict on the pulled revision: `healthy` or `unhealthy: <reason>`.
#[cfg(feature = "network")]
fn health(ctx: &Context, repo_id: &str, commit: &str) -> String {
    let json = Context {
        json: true,
        ..ctx.clone()
    };
    let argv = vec!["health".into(), "--".into(), format!("{repo_id}@{commit}")];
    let verdict = capture_guest(&json, argv, Access::ReadCache, Work::Quick)
        .ok()
        .and_then(|out| serde_json::from_slice::<Value>(&out.stdout).ok())
        .and_then(|v| {
            let data = v.get("data")?;
            if data["healthy"].as_array().is_some_and(|a| !a.is_empty()) {
                return Some("healthy".to_owned());
            }
            let reason = data["unhealthy"].get(0)?.get("reason")?.as_str()?;
            Some(format!("unhealthy: {reason}"))
        });
    verdict.unwrap_or_else(|| "unknown: the health check did not run".to_owned())
}

fn emit(ctx: &Context, data: PullData, error: Option<ErrorBody>) -> ExitStatus {
    let failed = error.is_some();
    if ctx.json {
        printer::stdout(&core_wasm::json::to_python_json(&envelope(data, error)));
    } else if let Some(e) = error {
        printer::stderr(format!("pull: Error: {}\n", e.message).as_bytes());
    } else if !ctx.quiet {
        printer::stdout(human(&data).as_bytes());
        if let Some(h) = data.health.as_deref().filter(|h| *h != "healthy") {
            printer::stderr(format!("pull: warning: the pulled revision is {h}\n").as_bytes());
        }
    }
    if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}

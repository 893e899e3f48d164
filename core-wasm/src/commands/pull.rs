//! `pull model[@rev] [--force-resume]`, the local half (reference §1.7, §5): validate the
//! name, resolve it in the cache, and decide from the cached copy's health whether the
//! network is needed at all. The host does the download when the plan says so; this
//! module never touches the network.

use super::Outcome;
use crate::error::CoreError;
use crate::fetch;
use crate::fs::CacheFs;
use crate::hub::{self, HubError, HubReply, TransferFailure};
use crate::model;
use crate::protocol::{CommandName, Envelope, ErrorBody, PullData, PullPlan, to_value};
use crate::request::{PullArgs, PullStep};
use crate::resolve::{self, Resolution};
use crate::scan::{self, CachedRepo};
use serde::Deserialize;
use serde_json::Value;

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
            revision_url: hub::revision_path(repo_id, revision),
            selection: args.selection.clone(),
        }
    };
    // A cached repo at a revision: answer from the cache, unless told to fetch anyway.
    let cached = |repo: CachedRepo, revision: Option<String>, remote: Option<&str>| {
        if args.force_resume {
            return fetch(&repo.repo_id, remote);
        }
        let mut data = data.clone();
        let eval = model::evaluate(fs, &repo, revision.as_deref());
        // Files the commit lists that are not here yet (an earlier pull took only some,
        // or these patterns take others): the Hub fills them in; what is here is reused.
        if let crate::snapshot::Selection::Snapshot {
            revision: commit, ..
        } = &eval.selection
        {
            match wanting(fs, &repo.folder, commit, &eval.manifest, &args.selection) {
                Wanting::Nothing => {}
                // A plain pull of an unhealthy copy asks first (the reference's §5);
                // a healthy one that lacks files, or named patterns, fetch.
                Wanting::Files if eval.health.healthy || !args.selection.is_everything() => {
                    return fetch(&repo.repo_id, remote);
                }
                Wanting::Files => {}
                Wanting::NoMatch(listed) => {
                    let shown = remote.unwrap_or(crate::layout::DEFAULT_REF);
                    let e = CoreError::NoMatchingFiles(hub::no_match(
                        &repo.repo_id,
                        shown,
                        &args.selection,
                        listed,
                    ));
                    data.model = Some(repo.repo_id.clone());
                    return reply(data, Some(&e));
                }
            }
        }
        data.expanded_name = (repo.repo_id != typed).then(|| repo.repo_id.clone());
        data.commit_hash = revision.or_else(|| eval.object.hash.clone());
        // With patterns, the files asked for are all here: whether they make a whole model
        // is not the question (`--exclude '*.gguf'` takes no weights on purpose).
        if eval.health.healthy || !args.selection.is_everything() {
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

/// What a cached snapshot lacks of what a pull asks for.
enum Wanting {
    /// Everything asked for is here.
    Nothing,
    /// Some file is not (or, without a tree file, patterns may name files the Hub has).
    Files,
    /// The patterns take none of the commit's files (how many it lists).
    NoMatch(usize),
}

/// Compares the commit's tree file with the snapshot, under `selection`. Without a tree
/// file nothing is known to be missing, unless patterns were given: then the Hub is asked.
fn wanting(
    fs: &CacheFs,
    folder: &str,
    commit: &str,
    here: &crate::snapshot::Manifest,
    selection: &crate::selection::Selection,
) -> Wanting {
    match crate::trees::load(fs, folder, commit) {
        crate::trees::Tree::Files(files) => {
            let mut taken = files.keys().filter(|path| selection.takes(path)).peekable();
            if taken.peek().is_none() && !files.is_empty() {
                Wanting::NoMatch(files.len())
            } else if taken.any(|path| here.get(path).is_none()) {
                Wanting::Files
            } else {
                Wanting::Nothing
            }
        }
        _ if selection.is_everything() => Wanting::Nothing,
        _ => Wanting::Files,
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

/// The `--write-plan` step's state: the Hub's answers for a [`PullPlan::Fetch`].
#[derive(Debug, Clone, Deserialize)]
struct WriteState {
    repo_id: String,
    revision: String,
    /// The revision endpoint's document.
    info: Value,
    /// The tree listing's pages, in order; absent for the first phase, which only reads
    /// the revision and names the listing to fetch.
    pages: Option<Vec<Value>>,
    /// The plan's [`crate::selection::Selection`], as `--plan` gave it.
    #[serde(default)]
    selection: crate::selection::Selection,
}

/// `pull --write-plan STATE`, in two phases. Without `pages`: `{"listing": URL path,
/// "commit"}` (the commit and its first tree page), or `{"revision_failed": HubReply}` when the revision's
/// document is unusable. With them: `{"plan": WritePlan}`, or `{"failed": HubReply}` when
/// the listing is unusable. The host passes a failure on to `--finish` as it is.
pub fn write_step(state: &str) -> Vec<u8> {
    let malformed = |e: HubError| HubReply::Malformed {
        reason: e.to_string(),
    };
    let value = match serde_json::from_str::<WriteState>(state) {
        Err(e) => serde_json::json!({ "failed": HubReply::Malformed {
            reason: format!("the write-plan state is unreadable: {e}"),
        } }),
        Ok(st) => match (hub::parse_revision(&st.info), st.pages) {
            (Err(e), _) => serde_json::json!({ "revision_failed": malformed(e) }),
            (Ok(info), None) => {
                serde_json::json!({
                    "listing": hub::tree_path(&st.repo_id, &info.sha),
                    "commit": info.sha,
                })
            }
            (Ok(info), Some(pages)) => match hub::parse_listing(&pages) {
                Ok(listing) => {
                    match hub::select(&st.repo_id, &st.revision, &listing, &st.selection) {
                        Ok(files) => serde_json::json!({
                            "plan": hub::write_plan(&st.repo_id, &st.revision, &info, &listing, &files)
                        }),
                        Err(e) => serde_json::json!({ "nothing_selected": e.to_string() }),
                    }
                }
                Err(e) => serde_json::json!({ "failed": malformed(e) }),
            },
        },
    };
    serde_json::to_vec(&value).expect("plans always serialize")
}

/// What a host's download came to, for `--finish`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
enum HostOutcome {
    /// Every file is in the snapshot and the ref is written.
    Done {
        /// The snapshot folder, absolute, as the host sees it.
        snapshot: String,
        files: u64,
        downloaded: u64,
        bytes: u64,
    },
    /// An offline variable is set (its name).
    Offline(String),
    /// The revision request failed.
    RevisionFailed(HubReply),
    /// A listing request failed, or the write plan said the answers were unusable.
    ListingFailed(HubReply),
    /// The gated repo's probe was refused (401/403).
    ProbeRefused,
    /// A file failed.
    FileFailed {
        path: String,
        size: u64,
        /// `sha256` or `sha1`, as the write plan gave it.
        algo: String,
        expected: String,
        failure: TransferFailure,
    },
    /// The cache could not be written outside a file's transfer.
    WriteFailed { path: String, reason: String },
    /// The patterns took no file of the listing (the write plan's message).
    NothingSelected(String),
}

/// The `--finish` step's state.
#[derive(Debug, Clone, Deserialize)]
struct FinishState {
    repo_id: String,
    revision: String,
    expanded_name: Option<String>,
    commit: Option<String>,
    outcome: HostOutcome,
}

/// The health verdict the CLI records after a download: `healthy` or `unhealthy: <why>`.
pub fn pulled_health(fs: &CacheFs, repo_id: &str, commit: &str) -> String {
    let spec = format!("{repo_id}@{commit}");
    let found = scan::scan_cache(fs)
        .ok()
        .map(|info| resolve::resolve(fs, &info, &spec));
    match found {
        Some(Resolution::Found { repo, revision, .. }) => {
            let eval = model::evaluate(fs, &repo, revision.as_deref());
            if eval.health.healthy {
                "healthy".to_owned()
            } else {
                format!("unhealthy: {}", eval.health.reason)
            }
        }
        _ => "unknown: the health check did not run".to_owned(),
    }
}

/// `pull --finish STATE`: the envelope of a download a host carried out.
fn finish(state: &str, fs: &CacheFs) -> (PullData, Option<ErrorBody>) {
    let st = match serde_json::from_str::<FinishState>(state) {
        Ok(st) => st,
        Err(e) => {
            let data = PullData {
                download_status: status("error"),
                ..PullData::default()
            };
            let e = CoreError::PullFailed(format!("the finish state is unreadable: {e}"));
            return (data, Some(e.to_body()));
        }
    };
    let repo = st.repo_id.as_str();
    let mut data = PullData {
        model: Some(st.repo_id.clone()),
        download_status: status("failed"),
        expanded_name: st.expanded_name.clone(),
        commit_hash: st.commit.clone(),
        ..PullData::default()
    };
    let error = match st.outcome {
        HostOutcome::Done {
            snapshot,
            files,
            downloaded,
            bytes,
        } => {
            let commit = st.commit.clone().unwrap_or_default();
            data.download_status = status("success");
            data.message = format!("Downloaded to {snapshot}");
            data.health = Some(pulled_health(fs, repo, &commit));
            data.files_total = Some(files);
            data.files_downloaded = Some(downloaded);
            data.bytes_downloaded = Some(bytes);
            return (data, None);
        }
        HostOutcome::Offline(name) => CoreError::Offline(name, st.repo_id.clone()),
        HostOutcome::RevisionFailed(e) => {
            let (error, warning) = hub::revision_error(repo, &st.revision, e.into());
            data.preflight_warning = warning;
            error
        }
        HostOutcome::ListingFailed(e) => hub::file_error(repo, "tree listing", e.into()),
        HostOutcome::ProbeRefused => hub::gated(repo),
        HostOutcome::FileFailed {
            path,
            size,
            algo,
            expected,
            failure,
        } => {
            let algo = if algo == "sha1" { "git-sha1" } else { "sha256" };
            let file = hub::RemoteFileRef {
                path: &path,
                size,
                algo,
                expected: &expected,
            };
            failure.to_error(repo, &file)
        }
        HostOutcome::WriteFailed { path, reason } => hub::write_error(&path, &reason),
        HostOutcome::NothingSelected(message) => CoreError::NoMatchingFiles(message),
    };
    if let CoreError::AccessDenied(_) = error {
        data.download_status = status("access_denied");
    }
    (data, Some(error.to_body()))
}

/// Runs `pull` inside the module alone (the npm package, a stock runtime): it answers
/// what the cache can answer, and the envelope of a download the host did (`--finish`);
/// a download itself needs a host that has the network.
pub fn run(args: &PullArgs, fs: &CacheFs) -> Outcome {
    if args.step == Some(PullStep::Finish) {
        let (data, error) = finish(&args.model, fs);
        let human = human(&data);
        return Outcome {
            envelope: envelope(data, error),
            human,
            exit_code: None,
        };
    }
    let (data, error) = match plan(args, fs) {
        PullPlan::Reply { data, error } => (*data, error),
        PullPlan::Fetch {
            repo_id,
            expanded_name,
            revision,
            ..
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
                expanded_name: None,
                revision_url: "/api/models/org/m/revision/v1.0".into(),
                selection: Default::default(),
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

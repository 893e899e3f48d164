//! `clone model[@rev] [target]` (workspaces-reference §2), the guest's two halves. The
//! plan (`clone --plan`) checks the target, validates the name and decides where the files
//! come from: the user's cache when it holds that revision healthy, a temporary cache
//! beside the target that an earlier run completed, or the Hub (the host downloads into
//! the temporary cache with `pull`'s engine). The finish (`clone --finish`) verifies and
//! copies the revision's files into the target, pins the content hash and writes the
//! sentinel. Nothing is ever linked into a cache.

use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::content_hash::{self, ContentHash, HashError};
use super::copy;
use super::exclude::{DEFAULT_PATTERNS, Excludes};
use super::sentinel::Sentinel;
use super::target::TargetMount;
use crate::audit;
use crate::diagnostics::warn;
use crate::error::CoreError;
use crate::fetch;
use crate::fs::{CacheFs, Kind, Resolved};
use crate::layout;
use crate::model;
use crate::naming::{RepoType, is_commit_hash};
use crate::protocol::{CloneData, ClonePlan, CloneSource};
use crate::resolve;
use crate::scan::CachedRepo;
use crate::snapshot::{self, Selection};

/// Marks a temporary cache as one `clone` made (so only such a folder is ever deleted).
pub const TEMP_SENTINEL: &str = ".mlxk2_temp_cache_sentinel";
/// Marks a temporary cache whose download finished.
pub const TEMP_COMPLETE: &str = ".mlxk2_download_complete";

/// The target, as the host mounted it, and access to it.
#[derive(Debug)]
pub struct Target {
    /// What the host said.
    pub mount: TargetMount,
    /// Access rooted at the mount (`/target` in the sandbox).
    pub fs: CacheFs,
}

/// The arguments both halves share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloneRequest {
    /// `org/name[@rev]` as given.
    pub spec: String,
    /// The target as messages show it.
    pub typed: String,
    /// The target came from `MLXK_WORKSPACE_HOME` with no target given.
    pub from_home: bool,
    /// Use a complete but unhealthy temporary cache as it is.
    pub force_resume: bool,
    /// `--no-health-check`.
    pub no_health_check: bool,
}

/// 2.0.8's temporary cache name: `.mlxk2_temp_` and the first 16 hex digits of
/// sha256(`<spec>:<absolute target>`), so a second run of the same command finds it.
pub fn temp_name(spec: &str, target: &str) -> String {
    let digest = Sha256::digest(format!("{spec}:{target}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(".mlxk2_temp_{}", &hex[..16])
}

fn repo(repo_id: &str) -> CachedRepo {
    CachedRepo {
        repo_type: RepoType::Model,
        repo_id: repo_id.to_owned(),
        folder: fetch::model_folder(repo_id),
        is_dir: true,
    }
}

/// The commit `revision` names in `fs` (a full commit whose snapshot is there, or a ref
/// whose snapshot is there).
fn cached_commit(fs: &CacheFs, folder: &str, revision: &str) -> Option<String> {
    let commit = if is_commit_hash(revision) {
        revision.to_ascii_lowercase()
    } else {
        snapshot::read_ref(fs, folder, revision)?
    };
    fs.lstat(&layout::snapshot_dir(folder, &commit))
        .is_ok_and(|st| st.kind == Kind::Dir)
        .then_some(commit)
}

/// Decides what `clone` does; reads only.
pub fn plan(req: &CloneRequest, cache: &CacheFs, target: Option<&Target>) -> ClonePlan {
    let target_dir = target.map(|t| t.mount.target_path()).unwrap_or_default();
    let mut data = CloneData {
        model: req.spec.clone(),
        clone_status: "error".into(),
        message: String::new(),
        target_dir: target_dir.clone(),
        health_check: !req.no_health_check,
        health: None,
        health_reason: None,
    };
    let reply = |data: &CloneData, status: &str, e: CoreError| {
        let mut data = data.clone();
        data.clone_status = status.into();
        ClonePlan::Reply {
            data,
            error: e.to_body(),
        }
    };
    let Some(target) = target else {
        return reply(
            &data,
            "error",
            CoreError::Usage("clone needs its target mounted".into()),
        );
    };
    if let Err(e) = check_target(req, target) {
        return reply(&data, "error", e);
    }
    // The name, as `pull` validates it; the Hub sees it verbatim (no expansion).
    if let Err(msg) = fetch::validate_name(&req.spec) {
        return reply(&data, "pull_failed", CoreError::CloneDownload(msg));
    }
    let spec = resolve::parse_spec(&req.spec);
    let repo_id = spec.name.trim().to_owned();
    if let Err(msg) = fetch::validate_repo_id(&repo_id) {
        return reply(&data, "pull_failed", CoreError::CloneDownload(msg));
    }
    let revision = spec.revision.unwrap_or(layout::DEFAULT_REF).to_owned();
    if !fetch::is_safe_ref_name(&revision) {
        let msg = format!("Invalid revision: '{revision}'");
        return reply(&data, "pull_failed", CoreError::CloneDownload(msg));
    }
    data.target_dir.clone_from(&target_dir);
    let temp = temp_name(&req.spec, &target_dir);
    let folder = fetch::model_folder(&repo_id);

    // The user's cache holds this revision, healthy: nothing to download.
    if let Some(commit) = cached_commit(cache, &folder, &revision)
        && model::evaluate(cache, &repo(&repo_id), Some(&commit))
            .health
            .healthy
    {
        return ClonePlan::Copy {
            from: CloneSource::Cache,
            commit,
            repo_id,
            target_dir,
            temp_name: temp,
            notice: None,
        };
    }

    // A temporary cache an earlier run left (2.0.8's resume rules, §2.3 step 4).
    let marker = format!(
        "mlxk2_temp_cache_created_{}\n",
        crate::time::unix_seconds(SystemTime::now())
    );
    let download = |wipe_temp: bool, notice: Option<String>| ClonePlan::Download {
        repo_id: repo_id.clone(),
        revision: revision.clone(),
        target_dir: target_dir.clone(),
        temp_name: temp.clone(),
        wipe_temp,
        temp_marker: marker.clone(),
        notice,
    };
    let temp_rel = Path::new(&temp);
    let complete = target.fs.lstat(&temp_rel.join(TEMP_COMPLETE)).is_ok();
    if !complete {
        return download(false, None);
    }
    let temp_fs = CacheFs::new(target.fs.host_path(temp_rel));
    let copy_temp = |commit: String, notice: Option<String>| ClonePlan::Copy {
        from: CloneSource::Temp,
        commit,
        repo_id: repo_id.clone(),
        target_dir: target_dir.clone(),
        temp_name: temp.clone(),
        notice,
    };
    match temp_snapshot(&temp_fs, &repo_id, &revision) {
        (Some(commit), Ok(())) => copy_temp(commit, None),
        (Some(commit), Err(reason)) if req.force_resume => copy_temp(
            commit,
            Some(format!(
                "Force resuming unhealthy download: Complete but unhealthy: {reason}"
            )),
        ),
        (_, verdict) => {
            let reason = verdict.err().unwrap_or_else(|| "No snapshots found".into());
            download(
                true,
                Some(format!(
                    "Deleting unhealthy temp cache: Complete but unhealthy: {reason}"
                )),
            )
        }
    }
}

/// The snapshot a temporary cache holds for the revision (its ref, else the newest), and
/// its health.
fn temp_snapshot(
    fs: &CacheFs,
    repo_id: &str,
    revision: &str,
) -> (Option<String>, Result<(), String>) {
    let r = repo(repo_id);
    let commit = cached_commit(fs, &r.folder, revision).or_else(|| {
        match snapshot::select(fs, &r.folder, None) {
            Selection::Snapshot { revision, .. } => Some(revision),
            _ => None,
        }
    });
    let Some(commit) = commit else {
        return (None, Err("No snapshots found".into()));
    };
    let health = model::evaluate(fs, &r, Some(&commit)).health;
    let verdict = if health.healthy {
        Ok(())
    } else {
        Err(health.reason)
    };
    (Some(commit), verdict)
}

/// 2.0.8's target checks, in its order (§2.3 step 2).
fn check_target(req: &CloneRequest, target: &Target) -> Result<(), CoreError> {
    let m = &target.mount;
    if m.parent_missing {
        return Err(CoreError::InvalidTarget(format!(
            "Parent directory does not exist: {}",
            m.root
        )));
    }
    let child = m.child.as_deref().unwrap_or("");
    let st = match target.fs.lstat(Path::new(child)) {
        Ok(st) => st,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(CoreError::InvalidTarget(format!(
                "Cannot inspect target '{}': {}",
                req.typed,
                crate::fs::describe(&e)
            )));
        }
    };
    if req.from_home {
        return Err(CoreError::InvalidTarget(format!(
            "{child} already exists in {}",
            m.root
        )));
    }
    if st.kind != Kind::Dir {
        return Err(CoreError::InvalidTarget(format!(
            "Target '{}' exists but is not a directory",
            req.typed
        )));
    }
    let empty = target
        .fs
        .read_dir(Path::new(child))
        .map(|entries| entries.is_empty())
        .unwrap_or(false);
    if !empty {
        return Err(CoreError::InvalidTarget(format!(
            "Target directory '{}' is not empty",
            req.typed
        )));
    }
    Ok(())
}

/// How the finish was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// Which cache `cache` is.
    pub from: CloneSource,
    /// The commit to copy.
    pub commit: String,
    /// Downloaded by this run (already verified by the transfer; marks the temporary
    /// cache complete).
    pub fresh: bool,
}

/// What the finish produced.
#[derive(Debug)]
pub struct Finished {
    /// The payload.
    pub data: CloneData,
    /// The error, if the clone failed.
    pub error: Option<CoreError>,
}

/// Verifies and copies the revision into the target, then pins and writes the sentinel.
pub fn finish(
    req: &CloneRequest,
    how: &Finish,
    cache: &CacheFs,
    target: &Target,
    now: SystemTime,
) -> Finished {
    let mut data = CloneData {
        model: req.spec.clone(),
        clone_status: "error".into(),
        message: String::new(),
        target_dir: target.mount.target_path(),
        health_check: !req.no_health_check,
        health: None,
        health_reason: None,
    };
    let fail = |mut data: CloneData, status: &str, e: CoreError| {
        data.clone_status = status.into();
        Finished {
            data,
            error: Some(e),
        }
    };
    let repo_id = resolve::parse_spec(&req.spec).name.trim().to_owned();
    if how.from == CloneSource::Temp && how.fresh {
        let text = format!(
            "completed_{}\n",
            crate::time::unix_seconds(SystemTime::now())
        );
        if let Err(e) = cache.replace_file(Path::new(TEMP_COMPLETE), text.as_bytes()) {
            warn(format!(
                "Cannot mark the download complete: {}",
                crate::fs::describe(&e)
            ));
        }
    }
    let r = repo(&repo_id);
    let eval = model::evaluate(cache, &r, Some(&how.commit));
    if !matches!(eval.selection, Selection::Snapshot { .. }) {
        return fail(
            data,
            "cache_not_found",
            CoreError::TempSnapshotMissing(req.spec.clone()),
        );
    }
    if !req.no_health_check {
        data.health = Some(eval.object.health.to_owned());
        data.health_reason = Some(eval.health.reason.clone());
    }

    // Every file must be a regular file inside the cache before anything is written.
    let mut files = Vec::new();
    for e in &eval.manifest.entries {
        match &e.state {
            Resolved::File { path, modified, .. } => files.push((e.path.clone(), path, *modified)),
            Resolved::Dir => {}
            other => {
                return fail(
                    data,
                    "filesystem_error",
                    CoreError::CloneFailed(format!(
                        "Cannot copy {}: {}; nothing was copied",
                        e.path,
                        describe(other)
                    )),
                );
            }
        }
    }
    // Bytes that were not downloaded by this run are checked against their blob names
    // first (`health --deep` of this one revision).
    if !how.fresh {
        let audit = audit::execute(cache, audit::plan(cache, &r.folder, Some(&how.commit)));
        if let Some(bad) = audit
            .findings
            .iter()
            .find(|f| f.severity == "corrupt" && f.file.is_some())
        {
            let origin = match how.from {
                CloneSource::Cache => "the cache",
                CloneSource::Temp => "the temporary cache",
            };
            return fail(
                data,
                "error",
                CoreError::CorruptSource(format!(
                    "{} of {repo_id} in {origin} is corrupt ({}); nothing was copied. Run `mlxk health {repo_id}@{} --deep`",
                    bad.file.as_deref().unwrap_or_default(),
                    bad.message,
                    how.commit
                )),
            );
        }
    }

    let mut buf = Vec::new();
    for (rel, real, modified) in &files {
        if let Err(e) =
            copy::copy_file(cache, real, &target.fs, Path::new(rel), *modified, &mut buf)
        {
            return fail(
                data,
                "filesystem_error",
                CoreError::CloneFailed(format!(
                    "Failed to copy {rel}: {}",
                    crate::fs::describe(&e)
                )),
            );
        }
    }
    cache.release();

    let stamp = crate::time::iso_utc_micros(now);
    let mut s = Sentinel::default();
    s.set("mlxk_version", super::SENTINEL_VERSION.into());
    s.set("created_at", stamp.clone().into());
    s.set("source_repo", repo_id.clone().into());
    s.set("source_revision", how.commit.clone().into());
    s.set("managed", true.into());
    s.set("operation", "clone".into());
    s.set("hash_modified", stamp.into());
    if let Some((hash, index)) = pin(&target.fs, &data.target_dir) {
        s.set("hash_algorithm", content_hash::ALGORITHM.into());
        s.set("content_hash", hash.content_hash.into());
        s.set("exclude_patterns", serde_json::json!(DEFAULT_PATTERNS));
        s.set("file_index", index);
    }
    if let Err(e) = s.write(&target.fs, Path::new("")) {
        warn(format!(
            "Failed to write workspace sentinel: {}",
            crate::fs::describe(&e)
        ));
    }
    data.clone_status = "success".into();
    data.message = format!("Cloned to {}", req.typed);
    Finished { data, error: None }
}

/// Why an entry cannot be copied, in the health reasons' words.
fn describe(state: &Resolved) -> String {
    match state {
        Resolved::Escapes { .. } => "it links out of the cache".into(),
        Resolved::Loop => "a symlink loop".into(),
        Resolved::Dangling { target } => format!("a dangling link to {target}"),
        Resolved::Unreadable { error } => format!("unreadable ({error})"),
        Resolved::Special => "not a regular file".into(),
        Resolved::File { .. } | Resolved::Dir => "unexpected".into(),
    }
}

/// The v2 hash of a freshly written workspace and its index, or `None` (with 2.0.8's
/// warning) when it cannot be computed.
pub fn pin(fs: &CacheFs, name: &str) -> Option<(ContentHash, Value)> {
    match content_hash::compute(fs, Path::new(""), &Excludes::new(DEFAULT_PATTERNS)) {
        Ok(hash) => {
            let index: Vec<Value> = hash
                .file_index
                .iter()
                .map(content_hash::IndexEntry::to_json)
                .collect();
            Some((hash, Value::Array(index)))
        }
        Err(e) => {
            if !matches!(e, HashError::NoConfig) {
                warn(e.to_string());
            }
            warn(format!("Cannot compute v2 hash for {name}"));
            None
        }
    }
}

/// The human line (§2.6).
pub fn human(data: &CloneData, quiet: bool) -> String {
    let mut line = format!("clone: {} \u{2192} {}", data.model, data.target_dir);
    if !quiet {
        match (data.health.as_deref(), data.health_reason.as_deref()) {
            (Some("healthy"), _) => line.push_str(" (\u{2713} healthy)"),
            (Some(_), reason) => {
                line.push_str(&format!(" (\u{26a0} unhealthy: {})", reason.unwrap_or("")));
            }
            _ => {}
        }
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_cache_name_is_2_0_8s() {
        // 2.0.8's `_get_deterministic_temp_cache_name`: sha256 of
        // f"{model_spec}:{target.resolve()}", first 16 hex digits (Python's hashlib gives
        // d6ad9c3ad19ddb52 for this input).
        assert_eq!(
            temp_name("fake-org/tiny-two-revs", "/home/u/cl/k2"),
            ".mlxk2_temp_d6ad9c3ad19ddb52"
        );
    }
}

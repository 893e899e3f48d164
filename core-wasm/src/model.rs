//! The one per-model evaluation every command shares: select the snapshot, walk it once,
//! classify it, check its health and decide runtime compatibility. `list`, `show` and
//! `health` all call [`evaluate`], so they can never disagree about a model.

use crate::classify::{self, Classification};
use crate::fs::CacheFs;
use crate::health::{self, Health};
use crate::layout;
use crate::manifest::ModelFiles;
use crate::naming::is_commit_hash;
use crate::protocol::ModelObject;
use crate::runtime;
use crate::scan::CachedRepo;
use crate::snapshot::{self, Manifest, Selection};
use crate::time;

/// Everything known about one model after evaluation.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The wire object (without `quantization`, which only `show` adds).
    pub object: ModelObject,
    /// How the snapshot was selected.
    pub selection: Selection,
    /// The walked snapshot (or repo folder when there is no snapshot).
    pub manifest: Manifest,
    /// The descriptor files.
    pub files: ModelFiles,
    /// Integrity verdict.
    pub health: Health,
    /// Framework, type, capabilities.
    pub class: Classification,
}

/// The wire object of an evaluated folder (a snapshot or a workspace), with the runtime
/// verdict (compatible only when healthy; the integrity problem is the reason first) and
/// the workspace fields empty (`cached: true`; workspaces fill in the rest).
pub fn object(
    name: &str,
    hash: Option<String>,
    modified: Option<std::time::SystemTime>,
    manifest: &Manifest,
    files: &ModelFiles,
    class: &Classification,
    health: &Health,
) -> ModelObject {
    let (runtime_compatible, reason) = if health.healthy {
        let reason = runtime::runtime_reason(class, manifest, files);
        (reason.is_none(), reason)
    } else {
        (false, Some(health.reason.clone()))
    };
    ModelObject {
        name: name.to_owned(),
        hash,
        size_bytes: manifest.total_size(),
        last_modified: time::iso_utc(modified),
        framework: class.framework,
        model_type: class.model_type,
        capabilities: class.capabilities.clone(),
        context_length: class.context_length,
        health: if health.healthy {
            "healthy"
        } else {
            "unhealthy"
        },
        runtime_compatible,
        reason,
        cached: true,
        origin: None,
        content_hash: None,
        hash_modified: None,
        clean: None,
        quantization: None,
        display_name: None,
    }
}

/// Repos evaluated per host listing call: enough to keep the host's threads busy, few
/// enough that the listings held at once stay small.
pub const PREFETCH_REPOS: usize = 64;

/// Lists, in one host call, every folder evaluating these repos reads by name: each repo
/// folder, its `snapshots/` with every snapshot in it (recursively) and its `blobs/`.
pub fn prefetch(fs: &CacheFs, repos: &[CachedRepo]) {
    let mut dirs = Vec::with_capacity(repos.len() * 3);
    for r in repos {
        dirs.push((layout::repo_dir(&r.folder), false));
        dirs.push((layout::snapshots_dir(&r.folder), true));
        dirs.push((layout::blobs_dir(&r.folder), false));
    }
    fs.prefetch(&dirs);
}

/// Evaluates a model repo at `revision` (a snapshot-name prefix) or the default snapshot.
pub fn evaluate(fs: &CacheFs, repo: &CachedRepo, revision: Option<&str>) -> Evaluation {
    let selection = snapshot::select(fs, &repo.folder, revision);
    let dir = match &selection {
        Selection::Snapshot { revision, .. } => layout::snapshot_dir(&repo.folder, revision),
        _ => layout::repo_dir(&repo.folder),
    };
    let modified = fs.lstat(&dir).ok().and_then(|st| st.modified);
    let manifest = Manifest::walk(fs, &dir);
    let files = ModelFiles::load(fs, &manifest);
    let class = classify::classify(&repo.repo_id, &manifest, &files);
    let health = match &selection {
        Selection::Snapshot { .. } => {
            let blobs: Vec<String> = fs
                .read_dir(&layout::blobs_dir(&repo.folder))
                .map(|v| v.into_iter().map(|(n, _)| n).collect())
                .unwrap_or_default();
            health::check_snapshot(fs, &manifest, &files, class.is_vision(), &blobs)
        }
        Selection::NoSnapshotsDir => Health::bad("No snapshots directory found"),
        Selection::NoSnapshots => Health::bad("No snapshots found"),
        Selection::RevisionNotFound => Health::bad(format!(
            "Specific hash {} not found",
            revision.unwrap_or_default()
        )),
    };
    let hash = match &selection {
        Selection::Snapshot { revision, .. } if is_commit_hash(revision) => Some(revision.clone()),
        _ => None,
    };
    let object = object(
        &repo.repo_id,
        hash,
        modified,
        &manifest,
        &files,
        &class,
        &health,
    );
    // Descriptors opened for this repo are not needed for the next one.
    fs.release();
    Evaluation {
        object,
        selection,
        manifest,
        files,
        health,
        class,
    }
}

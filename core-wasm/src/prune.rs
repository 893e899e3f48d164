//! What `prune` removes from the model repos of a cache, what it keeps and why, and in which order.
//!
//! Garbage is what no name reaches and no process is using:
//! - **detached revisions**: snapshots no ref names, in a repo where a ref names another
//!   (huggingface_hub's `hf cache prune` takes these too). A repo where no ref names any
//!   snapshot is a download pinned by commit (`pull org/x@<sha>` writes no ref): it is
//!   kept whole, where `hf cache prune` would delete it;
//! - **orphan blobs**: repo blobs no snapshot links to;
//! - **interrupted downloads**: `blobs/*.incomplete` whose lock nobody holds;
//! - **stale locks**: `.locks/<repo>/*.lock` nobody holds (huggingface_hub never deletes
//!   its own), lock folders of repos that are gone, and the trash of an interrupted `rm`.
//!
//! Nothing a process may be using goes: a repo whose download is running (a held lock, or
//! a lock that cannot be probed while a partial exists) keeps its revisions and blobs, and
//! a partial or lock written in the last [`QUIET_SECS`] stays (a writer that takes no flock,
//! as the npm package, keeps its partial's mtime fresh; a lock opened but not yet taken
//! has just been truncated). Revisions go through [`crate::removal`], in its kill-safe
//! order; each step leaves a cache huggingface_hub scans without a warning, so a run
//! killed half-way is finished by the next.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::capability::{self, LockState};
use crate::error::CoreError;
use crate::fs::{CacheFs, Kind};
use crate::layout;
use crate::removal::{self, Scope};
use crate::scan::CacheInfo;
use crate::snapshot;

/// How recently written a partial or a lock must not be to count as abandoned.
pub const QUIET_SECS: u64 = 300;

/// What kind of garbage an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemKind {
    /// A snapshot no ref names.
    Revision,
    /// A blob no snapshot links to.
    OrphanBlob,
    /// A partial download nobody is writing.
    IncompleteDownload,
    /// A lock file nobody holds.
    StaleLock,
    /// A lock folder whose repo is gone, or the trash of an interrupted `rm`.
    LockFolder,
}

impl ItemKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revision => "revision",
            Self::OrphanBlob => "orphan_blob",
            Self::IncompleteDownload => "incomplete_download",
            Self::StaleLock => "stale_lock",
            Self::LockFolder => "lock_folder",
        }
    }
}

/// Why something that looks like garbage stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A live process holds the lock: a download is running.
    HeldLock,
    /// Whether a process holds the lock cannot be told here, and a partial exists.
    LockUnknown,
    /// Written in the last [`QUIET_SECS`].
    RecentlyWritten,
    /// No ref names any snapshot of the repo: a download pinned by commit.
    PinnedByCommit,
    /// A lock folder holds files that are not locks.
    UnexpectedFiles,
}

impl Reason {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeldLock => "held_lock",
            Self::LockUnknown => "lock_unknown",
            Self::RecentlyWritten => "recently_written",
            Self::PinnedByCommit => "pinned_by_commit",
            Self::UnexpectedFiles => "unexpected_files",
        }
    }
}

/// One thing prune removes (or, in a dry run, would).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// The repo (`org/name`).
    pub model: String,
    /// Cache-relative path.
    pub path: PathBuf,
    /// The commit, for a revision.
    pub commit: Option<String>,
    /// Bytes of regular files it frees.
    pub bytes: u64,
}

/// One thing prune keeps although it looks like garbage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// What it would have been.
    pub kind: ItemKind,
    /// The repo.
    pub model: String,
    /// Cache-relative path.
    pub path: PathBuf,
    /// Why it stays.
    pub reason: Reason,
}

/// The outcome of a prune (or its dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Removed (or removable), in the order of removal.
    pub items: Vec<Item>,
    /// Kept, with the reason.
    pub kept: Vec<Kept>,
}

/// Prunes every model repo of `info` (with `dry_run`, only measures). Stops at the first
/// removal that fails: what was done before it, and the failure.
pub fn prune(
    fs: &CacheFs,
    info: &CacheInfo,
    now: SystemTime,
    dry_run: bool,
) -> (Pruned, Option<CoreError>) {
    let mut out = Pruned::default();
    let quiet = now.checked_sub(Duration::from_secs(QUIET_SECS));
    let recent = |rel: &Path| {
        let modified = fs.lstat(rel).ok().and_then(|st| st.modified);
        matches!((modified, quiet), (Some(m), Some(q)) if m > q)
    };
    for repo in info.models() {
        if let Err(e) = prune_repo(fs, &repo.folder, &repo.repo_id, &recent, dry_run, &mut out) {
            fs.release();
            return (out, Some(e));
        }
    }
    let failed = lock_folders(fs, info, &recent, dry_run, &mut out).err();
    fs.release();
    (out, failed)
}

fn prune_repo(
    fs: &CacheFs,
    folder: &str,
    model: &str,
    recent: &dyn Fn(&Path) -> bool,
    dry_run: bool,
    out: &mut Pruned,
) -> Result<(), CoreError> {
    let locks = removal::locks(fs, folder);
    let state_of = |etag: &str| {
        locks
            .iter()
            .find(|l| l.path.file_name().and_then(|n| n.to_str()) == Some(&format!("{etag}.lock")))
            .map(|l| l.state)
    };
    let running = removal::blocking_locks(fs, folder);

    // Interrupted downloads first: each is judged by its own lock.
    let blobs_dir = layout::blobs_dir(folder);
    let blob_names: Vec<(String, Kind)> = fs.read_dir(&blobs_dir).unwrap_or_default();
    for (name, _) in blob_names
        .iter()
        .filter(|(n, _)| n.ends_with(".incomplete"))
    {
        let rel = blobs_dir.join(name);
        let etag = name.split('.').next().unwrap_or(name);
        let reason = match state_of(etag) {
            Some(LockState::Held) => Some(Reason::HeldLock),
            Some(LockState::Unknown) => Some(Reason::LockUnknown),
            _ if recent(&rel) => Some(Reason::RecentlyWritten),
            _ => None,
        };
        if let Some(reason) = reason {
            out.kept
                .push(kept(ItemKind::IncompleteDownload, model, rel, reason));
            continue;
        }
        let bytes = fs.lstat(&rel).map(|st| st.size).unwrap_or(0);
        if !dry_run {
            fs.remove_file(&rel)
                .map_err(|e| removal::failure(&rel, &e))?;
        }
        out.items
            .push(item(ItemKind::IncompleteDownload, model, rel, None, bytes));
    }

    // Then locks: an interrupted download removed above leaves its lock stale. Before the
    // revisions, whose removal would take the locks of its blobs unreported.
    // The probe taken above still holds: removing a partial leaves its lock in place.
    for lock in locks {
        let reason = match lock.state {
            LockState::Held => continue,
            LockState::Unknown => Some(Reason::LockUnknown),
            LockState::Free if recent(&lock.path) => Some(Reason::RecentlyWritten),
            LockState::Free => None,
        };
        if let Some(reason) = reason {
            out.kept
                .push(kept(ItemKind::StaleLock, model, lock.path, reason));
            continue;
        }
        if !dry_run {
            fs.remove_file(&lock.path)
                .map_err(|e| removal::failure(&lock.path, &e))?;
        }
        out.items
            .push(item(ItemKind::StaleLock, model, lock.path, None, 0));
    }
    // Revisions and blobs only while no download of the repo runs: a download links its
    // blobs after writing them, and this tool writes the ref last.
    if let Some(lock) = running.first() {
        let reason = if lock.state == LockState::Held {
            Reason::HeldLock
        } else {
            Reason::LockUnknown
        };
        out.kept.push(kept(
            ItemKind::Revision,
            model,
            layout::repo_dir(folder),
            reason,
        ));
    } else {
        revisions_and_blobs(fs, folder, model, dry_run, out)?;
    }

    Ok(())
}

/// Orphan blobs, unfinished removals, then detached revisions (each through
/// [`removal::remove`]).
fn revisions_and_blobs(
    fs: &CacheFs,
    folder: &str,
    model: &str,
    dry_run: bool,
    out: &mut Pruned,
) -> Result<(), CoreError> {
    let snapshots: Vec<String> = snapshot::list_snapshots(fs, folder)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.revision)
        .collect();
    let named: BTreeSet<String> = crate::refs::named_commits(fs, folder)
        .into_iter()
        .map(|(_, commit)| commit)
        .collect();
    let (attached, detached): (Vec<String>, Vec<String>) =
        snapshots.iter().cloned().partition(|s| named.contains(s));

    let used: BTreeSet<String> = snapshots
        .iter()
        .flat_map(|s| removal::blobs_used(fs, folder, s))
        .collect();
    for (name, _) in fs.read_dir(&layout::blobs_dir(folder)).unwrap_or_default() {
        if crate::digest::Algo::for_id(&name).is_none() || used.contains(&name) {
            continue;
        }
        let bytes = removal::remove_blob(fs, folder, &name, dry_run)?;
        let rel = layout::blob_path(folder, &name);
        out.items
            .push(item(ItemKind::OrphanBlob, model, rel, None, bytes));
    }

    // Revisions whose removal was interrupted after their snapshot went (a tree file,
    // `.no_exist` or the journal left): finished as `rm` would finish them.
    let mut unfinished: BTreeSet<String> = removal::unfinished(fs, folder).into_iter().collect();
    unfinished.extend(
        removal::journals(fs, folder)
            .into_iter()
            .map(|(commit, _)| commit)
            .filter(|c| !snapshots.contains(c)),
    );
    for rev in unfinished {
        let bytes = if dry_run {
            leftovers(fs, folder, &rev)
        } else {
            removal::remove(fs, folder, &Scope::Revision(rev.clone()), false)?.freed
        };
        let rel = layout::snapshot_dir(folder, &rev);
        out.items
            .push(item(ItemKind::Revision, model, rel, Some(rev), bytes));
    }

    if attached.is_empty() {
        for rev in detached {
            let rel = layout::snapshot_dir(folder, &rev);
            out.kept
                .push(kept(ItemKind::Revision, model, rel, Reason::PinnedByCommit));
        }
        return Ok(());
    }
    // In a dry run nothing goes, so each revision's share is computed as the real run
    // would free it: its blobs that neither the kept revisions nor the later ones use.
    for (i, rev) in detached.iter().enumerate() {
        let bytes = if dry_run {
            let later: BTreeSet<String> = attached
                .iter()
                .chain(&detached[i + 1..])
                .flat_map(|s| removal::blobs_used(fs, folder, s))
                .collect();
            removal::blobs_used(fs, folder, rev)
                .iter()
                .filter(|b| !later.contains(*b))
                .map(|b| blob_size(fs, folder, b))
                .sum::<u64>()
                + removal::size_of_tree(fs, &layout::snapshot_dir(folder, rev))
                + leftovers(fs, folder, rev)
        } else {
            removal::remove(fs, folder, &Scope::Revision(rev.clone()), false)?.freed
        };
        let rel = layout::snapshot_dir(folder, rev);
        out.items.push(item(
            ItemKind::Revision,
            model,
            rel,
            Some(rev.clone()),
            bytes,
        ));
    }
    Ok(())
}

/// Lock folders whose repo is gone (huggingface_hub's `delete_revisions` leaves them), and
/// the trash an interrupted `rm` left in a lock folder.
fn lock_folders(
    fs: &CacheFs,
    info: &CacheInfo,
    recent: &dyn Fn(&Path) -> bool,
    dry_run: bool,
    out: &mut Pruned,
) -> Result<(), CoreError> {
    let root = Path::new(layout::LOCKS_DIR);
    let present: BTreeSet<&str> = info.repos.iter().map(|r| r.folder.as_str()).collect();
    for (folder, kind) in fs.read_dir(root).unwrap_or_default() {
        let Some((repo_type, repo_id)) = crate::naming::parse_repo_folder(&folder) else {
            continue;
        };
        if kind != Kind::Dir || repo_type != crate::naming::RepoType::Model {
            continue;
        }
        let dir = root.join(&folder);
        let trash = dir.join(removal::TRASH_DIR);
        if fs.lstat(&trash).is_ok_and(|st| st.kind == Kind::Dir) {
            let bytes = removal::size_of_tree(fs, &trash);
            if !dry_run {
                fs.remove_tree(&trash)
                    .map_err(|(p, e)| removal::failure(&p, &e))?;
            }
            out.items
                .push(item(ItemKind::LockFolder, &repo_id, trash, None, bytes));
        }
        if present.contains(folder.as_str()) {
            continue;
        }
        // A repo that is gone: its locks go with the folder, unless one is in use (a
        // download about to create the repo). A removal journal left there has nothing
        // left to finish (the repo went whole), so it goes too.
        let entries = fs.read_dir(&dir).unwrap_or_default();
        let mut busy = None;
        for (name, kind) in &entries {
            let rel = dir.join(name);
            let journal = *kind == Kind::File && name.ends_with(".removing");
            if name == removal::TRASH_DIR || journal {
                continue;
            }
            if *kind != Kind::File || !name.ends_with(".lock") {
                busy = Some(Reason::UnexpectedFiles);
                break;
            }
            match capability::probe_lock(fs, &rel) {
                Ok(LockState::Free) if !recent(&rel) => {}
                Ok(LockState::Free) => busy = Some(Reason::RecentlyWritten),
                Ok(LockState::Held) => busy = Some(Reason::HeldLock),
                _ => busy = Some(Reason::LockUnknown),
            }
            if busy.is_some() {
                break;
            }
        }
        if let Some(reason) = busy {
            out.kept
                .push(kept(ItemKind::LockFolder, &repo_id, dir, reason));
            continue;
        }
        if !dry_run {
            fs.remove_tree(&dir)
                .map_err(|(p, e)| removal::failure(&p, &e))?;
        }
        out.items
            .push(item(ItemKind::LockFolder, &repo_id, dir, None, 0));
    }
    Ok(())
}

/// Bytes of a revision's tree file and `.no_exist` folder.
fn leftovers(fs: &CacheFs, folder: &str, rev: &str) -> u64 {
    removal::size_of_tree(fs, &layout::tree_path(folder, rev))
        + removal::size_of_tree(fs, &layout::no_exist_dir(folder, rev))
}

fn blob_size(fs: &CacheFs, folder: &str, name: &str) -> u64 {
    match fs.lstat(&layout::blob_path(folder, name)) {
        Ok(st) if st.kind == Kind::File => st.size,
        _ => 0,
    }
}

fn item(kind: ItemKind, model: &str, path: PathBuf, commit: Option<String>, bytes: u64) -> Item {
    Item {
        kind,
        model: model.to_owned(),
        path,
        commit,
        bytes,
    }
}

fn kept(kind: ItemKind, model: &str, path: PathBuf, reason: Reason) -> Kept {
    Kept {
        kind,
        model: model.to_owned(),
        path,
        reason,
    }
}

//! What `rm` removes, and in which order (PRODUCT.md differences 5 and 6).
//!
//! `rm name` removes the repo folder and `.locks/<repo>/`. `rm name@rev` removes that
//! revision: the refs naming it, its snapshot, the blobs no remaining snapshot uses, then
//! its `trees/<commit>.json` and `.no_exist/<commit>/`; the last revision takes the whole
//! repo. The order keeps every intermediate state one huggingface_hub scans without a
//! warning if the process dies half-way (no ref to a missing snapshot, no link to a
//! missing blob), and the tree file goes last so a rerun of `rm name@rev` still finds the
//! unfinished revision and completes it.
//!
//! A revision's removal first writes a journal, `.locks/<repo>/<commit>.removing`, naming
//! the refs it is about to delete, and deletes it last: a run killed after the refs went
//! can then be finished by the same `rm name@<ref>` (huggingface_hub's scanner skips
//! `.locks/`, so the journal never shows up as a broken repo).
//!
//! A repo blob that links into the shared Xet store (`<cache>/blobs/<xx>/<hash>`) is
//! unlinked, then its line is dropped from the payload's `.refs` manifest; payloads are
//! never removed here (other repos may use them).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::capability::{self, LockState};
use crate::error::CoreError;
use crate::fs::{CacheFs, Kind};
use crate::layout;
use crate::snapshot::{self, Manifest};

/// A lock file of the repo and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Cache-relative path.
    pub path: PathBuf,
    /// Probed state.
    pub state: LockState,
}

/// The lock files in `.locks/<repo>/`, probed.
pub fn locks(fs: &CacheFs, folder: &str) -> Vec<Lock> {
    let dir = layout::locks_dir(folder);
    fs.read_dir(&dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, kind)| *kind == Kind::File && name.ends_with(".lock"))
        .map(|(name, _)| {
            let path = dir.join(name);
            let state = capability::probe_lock(fs, &path).unwrap_or(LockState::Unknown);
            Lock { path, state }
        })
        .collect()
}

/// The locks that stop `rm` without `-f`. A lock matters only while a download is
/// writing: one a live process holds blocks; one that cannot be probed here (Node outside
/// Linux, a runtime without flock) blocks only while the repo has an interrupted or running
/// download (`blobs/*.incomplete`, both namings), since huggingface_hub never deletes its
/// lock files and every finished model keeps them.
pub fn blocking_locks(fs: &CacheFs, folder: &str) -> Vec<Lock> {
    let all = locks(fs, folder);
    let unknown_blocks =
        all.iter().any(|l| l.state == LockState::Unknown) && has_incomplete_download(fs, folder);
    all.into_iter()
        .filter(|l| match l.state {
            LockState::Held => true,
            LockState::Unknown => unknown_blocks,
            LockState::Free => false,
        })
        .collect()
}

/// Whether `blobs/` holds a partial download (`<etag>.incomplete` or
/// `<etag>.<8hex>.incomplete`).
pub fn has_incomplete_download(fs: &CacheFs, folder: &str) -> bool {
    fs.read_dir(&layout::blobs_dir(folder))
        .unwrap_or_default()
        .iter()
        .any(|(name, _)| name.ends_with(".incomplete"))
}

/// What a removal does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole repo and its locks.
    Repository,
    /// One revision (the repo keeps others).
    Revision(String),
}

/// The outcome of a removal (or of its dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Bytes of regular files removed.
    pub freed: u64,
    /// Lock files removed.
    pub locks_cleaned: usize,
}

/// Why a removal stopped, with the cache-relative path it stopped at.
pub(crate) fn failure(path: &Path, e: &io::Error) -> CoreError {
    let shown = path.to_string_lossy().into_owned();
    if e.kind() == io::ErrorKind::PermissionDenied || crate::fs::is_sandbox_refusal(e) {
        CoreError::PermissionDenied(shown)
    } else {
        CoreError::DeletionFailed(format!("{shown}: {}", crate::fs::describe(e)))
    }
}

/// Decides the scope of `rm` for `revision` (a full snapshot name) of `folder`: the
/// last revision means the whole repo.
pub fn scope(fs: &CacheFs, folder: &str, revision: Option<&str>) -> Scope {
    let Some(rev) = revision else {
        return Scope::Repository;
    };
    let others = snapshot::list_snapshots(fs, folder)
        .unwrap_or_default()
        .into_iter()
        .any(|s| s.revision != rev);
    if others {
        Scope::Revision(rev.to_owned())
    } else {
        Scope::Repository
    }
}

/// Where a repo's removal moves its folder before deleting it (`.locks/<repo>/.removed`).
pub const TRASH_DIR: &str = ".removed";

/// The journal of a revision's removal.
fn journal_path(folder: &str, commit: &str) -> PathBuf {
    layout::locks_dir(folder).join(format!("{commit}.{JOURNAL_SUFFIX}"))
}

/// `.removing`
const JOURNAL_SUFFIX: &str = "removing";

/// Interrupted revision removals: each commit with the ref names its journal recorded.
pub fn journals(fs: &CacheFs, folder: &str) -> Vec<(String, Vec<String>)> {
    let dir = layout::locks_dir(folder);
    fs.read_dir(&dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, kind)| *kind == Kind::File)
        .filter_map(|(name, _)| {
            let commit = name.strip_suffix(&format!(".{JOURNAL_SUFFIX}"))?;
            crate::naming::is_commit_hash(commit).then_some(())?;
            let text = fs.read_prefix(&dir.join(&name), 64 << 10).ok()?;
            let refs = String::from_utf8_lossy(&text)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            Some((commit.to_owned(), refs))
        })
        .collect()
}

/// The interrupted removal `rev` names: a commit from a journal whose recorded refs
/// include `rev` or that starts with it, or a commit whose tree file or `.no_exist`
/// outlived its snapshot. `None` unless exactly one matches.
pub fn interrupted(fs: &CacheFs, folder: &str, rev: &str) -> Option<String> {
    let mut found: BTreeSet<String> = journals(fs, folder)
        .into_iter()
        .filter(|(commit, refs)| commit.starts_with(rev) || refs.iter().any(|r| r == rev))
        .map(|(commit, _)| commit)
        .collect();
    found.extend(
        unfinished(fs, folder)
            .into_iter()
            .filter(|c| c.starts_with(rev)),
    );
    let mut it = found.into_iter();
    match (it.next(), it.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Revisions whose deletion was interrupted: a tree file or `.no_exist` folder left for
/// a commit that has no snapshot any more.
pub fn unfinished(fs: &CacheFs, folder: &str) -> Vec<String> {
    let snapshots: BTreeSet<String> = snapshot::list_snapshots(fs, folder)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.revision)
        .collect();
    let repo = layout::repo_dir(folder);
    let trees = fs
        .read_dir(&repo.join(layout::TREES_DIR))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(n, _)| n.strip_suffix(".json").map(str::to_owned));
    let no_exist = fs
        .read_dir(&repo.join(layout::NO_EXIST_DIR))
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n);
    let found: BTreeSet<String> = trees
        .chain(no_exist)
        .filter(|c| !snapshots.contains(c))
        .collect();
    found.into_iter().collect()
}

/// Removes (or, with `dry_run`, measures) what `scope` covers.
pub fn remove(
    fs: &CacheFs,
    folder: &str,
    scope: &Scope,
    dry_run: bool,
) -> Result<Removed, CoreError> {
    let mut out = Removed::default();
    let repo = layout::repo_dir(folder);
    match scope {
        Scope::Repository if dry_run => {
            out.freed = size_of_tree(fs, &repo);
            out.locks_cleaned = count_locks(fs, &layout::locks_dir(folder));
        }
        Scope::Repository => {
            // Refs first, then the snapshots' contents (the empty `snapshots/` stays),
            // then blobs and the rest: at every step huggingface_hub scans a repo with
            // fewer revisions, never a broken one. Last, the nearly empty folder moves
            // into `.locks/<repo>/` in one rename (the scanner skips `.locks/`, and a repo
            // folder without `snapshots/` is what it calls corrupted), and goes with the
            // locks.
            out.freed += tree(fs, &repo.join(layout::REFS_DIR), false)?;
            let snapshots = repo.join(layout::SNAPSHOTS_DIR);
            for (name, _) in fs.read_dir(&snapshots).unwrap_or_default() {
                out.freed += tree(fs, &snapshots.join(name), false)?;
            }
            let blobs: Vec<String> = fs
                .read_dir(&layout::blobs_dir(folder))
                .unwrap_or_default()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            for name in &blobs {
                out.freed += remove_blob(fs, folder, name, false)?;
            }
            for (name, _) in fs.read_dir(&repo).unwrap_or_default() {
                if name != layout::SNAPSHOTS_DIR {
                    out.freed += tree(fs, &repo.join(name), false)?;
                }
            }
            let locks = layout::locks_dir(folder);
            let trash = locks.join(TRASH_DIR);
            let moved = fs
                .create_dirs(&locks)
                .and_then(|()| {
                    fs.remove_tree(&trash).map_err(|(_, e)| e)?;
                    fs.rename(&repo, &trash)
                })
                .is_ok();
            if !moved {
                out.freed += tree(fs, &repo, false)?;
            }
            out.locks_cleaned = count_locks(fs, &locks);
            // Best effort, as the reference: a lock folder we cannot clean is no
            // reason to report the model as not deleted.
            let _ = fs.remove_tree(&locks);
        }
        Scope::Revision(rev) => {
            let remaining: Vec<String> = snapshot::list_snapshots(fs, folder)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.revision)
                .filter(|r| r != rev)
                .collect();
            let refs = refs_naming(fs, folder, rev);
            let journal = journal_path(folder, rev);
            if !dry_run {
                let mut names: Vec<String> = journals(fs, folder)
                    .into_iter()
                    .filter(|(c, _)| c == rev)
                    .flat_map(|(_, names)| names)
                    .collect();
                names.extend(refs.iter().map(|r| ref_name(folder, r)));
                names.sort();
                names.dedup();
                let mut text = names.join("\n");
                text.push('\n');
                fs.create_dirs(&layout::locks_dir(folder))
                    .and_then(|()| fs.replace_file(&journal, text.as_bytes()))
                    .map_err(|e| failure(&journal, &e))?;
            }
            for r in refs {
                remove_one(fs, &r, dry_run)?;
            }
            out.freed += tree(fs, &layout::snapshot_dir(folder, rev), dry_run)?;
            let mut used = BTreeSet::new();
            for r in &remaining {
                used.extend(blobs_used(fs, folder, r));
            }
            let mut gone = BTreeSet::new();
            for (name, _) in fs.read_dir(&layout::blobs_dir(folder)).unwrap_or_default() {
                let is_blob = crate::digest::Algo::for_id(&name).is_some();
                if is_blob && !used.contains(&name) {
                    out.freed += remove_blob(fs, folder, &name, dry_run)?;
                    gone.insert(name);
                }
            }
            out.freed += tree(fs, &layout::no_exist_dir(folder, rev), dry_run)?;
            out.freed += tree(fs, &layout::tree_path(folder, rev), dry_run)?;
            remove_one(fs, &journal, dry_run)?;
            // Locks nobody holds whose blob is gone (or never came).
            for lock in locks(fs, folder) {
                let etag = lock
                    .path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".lock"))
                    .unwrap_or_default()
                    .to_owned();
                let present =
                    !gone.contains(&etag) && fs.lstat(&layout::blob_path(folder, &etag)).is_ok();
                if lock.state == LockState::Free && !present {
                    remove_one(fs, &lock.path, dry_run)?;
                    out.locks_cleaned += 1;
                }
            }
        }
    }
    fs.release();
    Ok(out)
}

/// Files of one snapshot (`rm name@rev --files GLOB...`): what [`remove_files`] takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesRemoved {
    /// Snapshot paths removed (or that would be), sorted.
    pub paths: Vec<String>,
    /// Bytes freed: plain files of the snapshot and the blobs nothing else uses.
    pub freed: u64,
}

/// Removes the files of snapshot `rev` that `selection` takes: their links (or plain
/// files) first, then the blobs no other file of any snapshot links to, then the folders
/// the files leave empty. Refs and the tree file stay, so the revision is still named and
/// the deep audit reports the files as `not_downloaded`; a kill half-way leaves at most
/// orphan blobs, which `prune` collects.
pub fn remove_files(
    fs: &CacheFs,
    folder: &str,
    rev: &str,
    selection: &crate::selection::Selection,
    dry_run: bool,
) -> Result<FilesRemoved, CoreError> {
    let dir = layout::snapshot_dir(folder, rev);
    let blobs = layout::blobs_dir(folder);
    let blob_of = |rel: &Path| {
        fs.link_target(rel)
            .filter(|t| t.parent() == Some(blobs.as_path()))
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    };
    let manifest = Manifest::walk(fs, &dir);
    let (taken, kept): (Vec<_>, Vec<_>) = manifest
        .entries
        .iter()
        .partition(|e| selection.takes(&e.path));
    let mut out = FilesRemoved::default();
    if taken.is_empty() {
        return Ok(out);
    }
    let mut used: BTreeSet<String> = kept
        .iter()
        .filter(|e| e.is_link)
        .filter_map(|e| blob_of(&dir.join(&e.path)))
        .collect();
    for other in snapshot::list_snapshots(fs, folder).unwrap_or_default() {
        if other.revision != rev {
            used.extend(blobs_used(fs, folder, &other.revision));
        }
    }
    let mut freed_blobs = BTreeSet::new();
    for entry in &taken {
        let rel = dir.join(&entry.path);
        if entry.is_link {
            if let Some(b) = blob_of(&rel).filter(|b| !used.contains(b)) {
                freed_blobs.insert(b);
            }
        } else if let Ok(st) = fs.lstat(&rel)
            && st.kind == Kind::File
        {
            out.freed += st.size;
        }
        remove_one(fs, &rel, dry_run)?;
        out.paths.push(entry.path.clone());
    }
    for name in &freed_blobs {
        out.freed += remove_blob(fs, folder, name, dry_run)?;
    }
    if !dry_run {
        // Folders the removed files leave empty (`onnx/`), deepest first; best effort.
        let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
        for p in &out.paths {
            let mut at = Path::new(p).parent();
            while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
                parents.insert(d.to_path_buf());
                at = d.parent();
            }
        }
        let mut deepest: Vec<&PathBuf> = parents.iter().collect();
        deepest.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in deepest {
            let rel = dir.join(d);
            if fs.read_dir(&rel).is_ok_and(|v| v.is_empty()) {
                let _ = fs.remove_tree(&rel);
            }
        }
    }
    out.paths.sort();
    fs.release();
    Ok(out)
}

/// The lock files in a repo's lock folder.
fn count_locks(fs: &CacheFs, locks: &Path) -> usize {
    fs.read_dir(locks).map_or(0, |v| {
        v.iter().filter(|(n, _)| n.ends_with(".lock")).count()
    })
}

/// Removes (or measures) a whole folder or file.
fn tree(fs: &CacheFs, rel: &Path, dry_run: bool) -> Result<u64, CoreError> {
    if dry_run {
        return Ok(size_of_tree(fs, rel));
    }
    fs.remove_tree(rel).map_err(|(p, e)| failure(&p, &e))
}

fn remove_one(fs: &CacheFs, rel: &Path, dry_run: bool) -> Result<(), CoreError> {
    if dry_run {
        return Ok(());
    }
    fs.remove_file(rel).map_err(|e| failure(rel, &e))
}

/// Bytes of the regular files under `rel`, links not followed.
pub fn size_of_tree(fs: &CacheFs, rel: &Path) -> u64 {
    match fs.lstat(rel) {
        Ok(st) if st.kind == Kind::File => st.size,
        Ok(st) if st.kind == Kind::Dir => fs
            .read_dir(rel)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| size_of_tree(fs, &rel.join(n)))
            .sum(),
        _ => 0,
    }
}

/// Removes one repo blob; a link into the shared store also loses its manifest line.
pub fn remove_blob(
    fs: &CacheFs,
    folder: &str,
    name: &str,
    dry_run: bool,
) -> Result<u64, CoreError> {
    let rel = layout::blob_path(folder, name);
    let Ok(st) = fs.lstat(&rel) else {
        return Ok(0);
    };
    let shared = (st.kind == Kind::Symlink)
        .then(|| fs.link_target(&rel))
        .flatten()
        .filter(|t| t.starts_with(layout::BLOBS_DIR));
    if dry_run {
        return Ok(if st.kind == Kind::File { st.size } else { 0 });
    }
    // The link goes before its manifest line: a payload listed but unused is a leak, a
    // payload used but unlisted could be collected under a live link.
    fs.remove_file(&rel).map_err(|e| failure(&rel, &e))?;
    if let Some(payload) = shared {
        drop_manifest_line(fs, &payload, &format!("{folder}/blobs/{name}"))?;
    }
    Ok(if st.kind == Kind::File { st.size } else { 0 })
}

fn drop_manifest_line(fs: &CacheFs, payload: &Path, line: &str) -> Result<(), CoreError> {
    let mut manifest = payload.as_os_str().to_owned();
    manifest.push(".refs");
    let manifest = PathBuf::from(manifest);
    let Ok(bytes) = fs.read_prefix(&manifest, 16 << 20) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let kept: Vec<&str> = text.lines().filter(|l| l.trim() != line).collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    fs.replace_file(&manifest, out.as_bytes())
        .map_err(|e| failure(&manifest, &e))
}

/// The ref name of a path under `<repo>/refs/`.
fn ref_name(folder: &str, path: &Path) -> String {
    let refs = layout::repo_dir(folder).join(layout::REFS_DIR);
    path.strip_prefix(&refs)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Refs (files under `refs/`, nested) whose trimmed content is `commit`.
fn refs_naming(fs: &CacheFs, folder: &str, commit: &str) -> Vec<PathBuf> {
    crate::refs::ref_files(fs, folder)
        .into_iter()
        .filter(|r| {
            r.read(fs)
                .is_ok_and(|b| String::from_utf8_lossy(&b).trim() == commit)
        })
        .map(|r| r.path)
        .collect()
}

/// The repo blobs a snapshot's links point to (one hop).
pub fn blobs_used(fs: &CacheFs, folder: &str, revision: &str) -> BTreeSet<String> {
    let dir = layout::snapshot_dir(folder, revision);
    let blobs = layout::blobs_dir(folder);
    Manifest::walk(fs, &dir)
        .entries
        .iter()
        .filter(|e| e.is_link)
        .filter_map(|e| fs.link_target(&dir.join(&e.path)))
        .filter(|t| t.parent() == Some(blobs.as_path()))
        .filter_map(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

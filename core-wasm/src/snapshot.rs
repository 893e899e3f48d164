//! Snapshots: which one a command looks at, and what is in it.
//!
//! One selection rule serves every command (it is what keeps `list`, `show` and `health`
//! from disagreeing about a model): an explicit revision prefix; else the commit that
//! `refs/main` names, if that snapshot exists; else the newest snapshot folder by mtime.
//! A selected snapshot is walked once into a [`Manifest`], and every later question
//! (size, health, classification) is answered from it without touching the disk again,
//! except to read the few small files whose contents matter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::fs::{CacheFs, Kind, Resolved};
use crate::layout;
use crate::naming::is_commit_hash;

/// Folder nesting deeper than this inside a snapshot is not walked (and is reported).
pub const MAX_DEPTH: usize = 32;

/// How a snapshot was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The user's `@rev` prefix.
    Explicit,
    /// `refs/main`.
    MainRef,
    /// The newest snapshot folder.
    Newest,
}

/// The outcome of snapshot selection for one repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A snapshot folder was chosen.
    Snapshot {
        /// Its folder name.
        revision: String,
        /// Why it was chosen.
        via: Via,
    },
    /// The repo has no `snapshots/` folder.
    NoSnapshotsDir,
    /// `snapshots/` holds no folder.
    NoSnapshots,
    /// No snapshot starts with the requested revision.
    RevisionNotFound,
}

/// A snapshot folder and when it was last modified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDir {
    /// The folder name (a commit hash in a well-formed cache).
    pub revision: String,
    /// mtime of the folder itself.
    pub modified: Option<SystemTime>,
}

/// The snapshot folders of a repo, sorted by name; `None` when `snapshots/` is missing.
pub fn list_snapshots(fs: &CacheFs, folder: &str) -> Option<Vec<SnapshotDir>> {
    let dir = layout::snapshots_dir(folder);
    if fs.lstat(&dir).ok()?.kind != Kind::Dir {
        return None;
    }
    let entries = fs.read_dir(&dir).unwrap_or_default();
    Some(
        entries
            .into_iter()
            .filter(|(_, kind)| *kind == Kind::Dir)
            .map(|(name, _)| {
                let modified = fs.lstat(&dir.join(&name)).ok().and_then(|st| st.modified);
                SnapshotDir {
                    revision: name,
                    modified,
                }
            })
            .collect(),
    )
}

/// Reads a ref (`main`, `v1.0`, `refs/pr/1`): the trimmed file content, if it is a commit.
pub fn read_ref(fs: &CacheFs, folder: &str, name: &str) -> Option<String> {
    let bytes = fs.read_prefix(&layout::ref_path(folder, name), 256).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?.trim();
    is_commit_hash(text).then(|| text.to_owned())
}

/// Applies the selection rule (see the module docs) to a repo.
pub fn select(fs: &CacheFs, folder: &str, revision: Option<&str>) -> Selection {
    // The common case needs no listing: refs/main names a snapshot that is there.
    if revision.is_none()
        && let Some(main) = read_ref(fs, folder, layout::DEFAULT_REF)
        && fs
            .lstat(&layout::snapshot_dir(folder, &main))
            .is_ok_and(|st| st.kind == Kind::Dir)
    {
        return Selection::Snapshot {
            revision: main,
            via: Via::MainRef,
        };
    }
    let Some(snapshots) = list_snapshots(fs, folder) else {
        return if revision.is_some() {
            Selection::RevisionNotFound
        } else {
            Selection::NoSnapshotsDir
        };
    };
    if let Some(rev) = revision {
        return snapshots
            .iter()
            .find(|s| s.revision.starts_with(rev))
            .map_or(Selection::RevisionNotFound, |s| Selection::Snapshot {
                revision: s.revision.clone(),
                via: Via::Explicit,
            });
    }
    // Newest by mtime; ties (common when a tool writes several at once) go to the
    // greatest name so the choice never depends on directory order.
    snapshots
        .iter()
        .max_by(|a, b| {
            a.modified
                .cmp(&b.modified)
                .then_with(|| a.revision.cmp(&b.revision))
        })
        .map_or(Selection::NoSnapshots, |s| Selection::Snapshot {
            revision: s.revision.clone(),
            via: Via::Newest,
        })
}

/// One file-like entry of a walked folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the walked folder, `/`-separated.
    pub path: String,
    /// What the entry is once links are followed.
    pub state: Resolved,
    /// Whether the entry itself is a link (the HF layout) rather than a plain file.
    pub is_link: bool,
}

impl Entry {
    /// The last path component.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Whether it sits directly in the walked folder.
    pub fn is_top_level(&self) -> bool {
        !self.path.contains('/')
    }

    /// Size when it resolves to a regular file.
    pub fn file_size(&self) -> Option<u64> {
        match &self.state {
            Resolved::File { size, .. } => Some(*size),
            _ => None,
        }
    }

    /// The real, link-free location when it resolves to a regular file.
    pub fn real_path(&self) -> Option<&Path> {
        match &self.state {
            Resolved::File { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Everything in one walked folder (a snapshot, or a repo without snapshots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The folder, relative to the cache root.
    pub dir: PathBuf,
    /// File-like entries, sorted by path component-wise.
    pub entries: Vec<Entry>,
    /// Folders that could not be listed, and folders nested too deep.
    pub unreadable_dirs: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Manifest {
    /// Walks `dir` (cache-relative): real folders are descended, links are followed
    /// lexically and recorded with what they resolve to.
    pub fn walk(fs: &CacheFs, dir: &Path) -> Self {
        let mut manifest = Manifest {
            dir: dir.to_path_buf(),
            ..Manifest::default()
        };
        walk_into(fs, dir, "", 0, &mut manifest);
        manifest
    }

    /// The entry at a `/`-separated relative path.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.index.get(path).map(|&i| &self.entries[i])
    }

    /// Whether `path` exists and resolves to a regular file (Python's `Path.exists()`
    /// through links, restricted to files).
    pub fn is_file(&self, path: &str) -> bool {
        self.get(path).is_some_and(|e| e.file_size().is_some())
    }

    /// Sum of the sizes of every entry that resolves to a regular file.
    pub fn total_size(&self) -> u64 {
        self.entries.iter().filter_map(Entry::file_size).sum()
    }

    /// Cache-relative location of an entry's bytes.
    pub fn real_path(&self, path: &str) -> Option<&Path> {
        self.get(path).and_then(Entry::real_path)
    }
}

fn walk_into(fs: &CacheFs, dir: &Path, prefix: &str, depth: usize, out: &mut Manifest) {
    if depth > MAX_DEPTH {
        out.unreadable_dirs
            .push((prefix.to_owned(), "nested too deep".to_owned()));
        return;
    }
    let listing = match fs.read_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            out.unreadable_dirs
                .push((prefix.to_owned(), crate::fs::describe(&e)));
            return;
        }
    };
    for (name, kind) in listing {
        let rel = dir.join(&name);
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if kind == Kind::Dir {
            walk_into(fs, &rel, &path, depth + 1, out);
            continue;
        }
        let (state, is_link) = if kind == Kind::Symlink {
            (fs.follow_link(&rel), true)
        } else {
            (fs.resolve(&rel), false)
        };
        // A link to a folder is recorded by name and never descended, as `rglob` does.
        out.index.insert(path.clone(), out.entries.len());
        out.entries.push(Entry {
            path,
            state,
            is_link,
        });
    }
}

//! A repo's refs: the branch and tag names under `refs/` (nested, as `refs/refs/pr/1`),
//! walked once for every command that needs them (revision lookup, removal, the audit).

use std::path::PathBuf;

use crate::fs::{CacheFs, Kind};
use crate::layout;
use crate::naming::is_commit_hash;

/// Longest ref file read: a commit is 40 bytes; anything longer is not a ref.
const REF_READ_LIMIT: usize = 256;

/// One file under `refs/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefFile {
    /// The ref's name (`main`, `v1.0`, `refs/pr/1`).
    pub name: String,
    /// Its cache-relative path.
    pub path: PathBuf,
}

impl RefFile {
    /// The raw bytes (at most [`REF_READ_LIMIT`]), or the read error.
    pub fn read(&self, fs: &CacheFs) -> std::io::Result<Vec<u8>> {
        fs.read_prefix(&self.path, REF_READ_LIMIT)
    }

    /// The commit it names: the trimmed content, if that is a 40-hex hash.
    pub fn commit(&self, fs: &CacheFs) -> Option<String> {
        let bytes = self.read(fs).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?.trim();
        is_commit_hash(text).then(|| text.to_owned())
    }
}

/// Every regular file under the repo's `refs/`, sorted by name. Links are not refs
/// (huggingface_hub writes plain files), so they are skipped, never followed.
pub fn ref_files(fs: &CacheFs, folder: &str) -> Vec<RefFile> {
    let mut out = Vec::new();
    let mut stack = vec![(
        layout::repo_dir(folder).join(layout::REFS_DIR),
        String::new(),
    )];
    while let Some((dir, prefix)) = stack.pop() {
        for (name, kind) in fs.read_dir(&dir).unwrap_or_default() {
            let path = dir.join(&name);
            let name = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match kind {
                Kind::Dir => stack.push((path, name)),
                Kind::File => out.push(RefFile { name, path }),
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The refs that name a commit, with that commit, sorted by name.
pub fn named_commits(fs: &CacheFs, folder: &str) -> Vec<(String, String)> {
    ref_files(fs, folder)
        .into_iter()
        .filter_map(|r| r.commit(fs).map(|c| (r.name, c)))
        .collect()
}

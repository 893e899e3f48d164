//! Where things live in a Hugging Face hub cache. Every path is relative to the cache root.
//!
//! ```text
//! <cache>/                              (HF_HUB_CACHE; `/cache` inside the sandbox)
//! ├── CACHEDIR.TAG                      huggingface_hub 2.x marker
//! ├── .locks/<repo folder>/<etag>.lock  flock files, left behind after release
//! ├── blobs/<xx>/<xet hash>             optional shared Xet store (marker .huggingface-shared-blobs)
//! └── models--<org>--<name>/            also datasets--, spaces--, kernels--
//!     ├── blobs/<etag>                  bytes, named by sha256 (LFS) or git blob sha1
//!     ├── blobs/<etag>[.<8hex>].incomplete   a download in progress or interrupted
//!     ├── refs/<ref>                    40-hex commit, no newline; `refs/refs/pr/1` nests
//!     ├── snapshots/<commit>/<path>     relative links `../../blobs/<etag>` (or plain files)
//!     ├── .no_exist/<commit>/<path>     empty markers: file absent at that commit
//!     └── trees/<commit>.json           2.x: cached recursive tree listing
//! ```
//!
//! Only this module spells these names; everything else asks it.

use std::path::PathBuf;

/// `CACHEDIR.TAG`
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
/// `.locks`
pub const LOCKS_DIR: &str = ".locks";
/// `blobs` (in a repo, and the optional cache-wide shared store)
pub const BLOBS_DIR: &str = "blobs";
/// `refs`
pub const REFS_DIR: &str = "refs";
/// `snapshots`
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// `.no_exist`
pub const NO_EXIST_DIR: &str = ".no_exist";
/// `trees`
pub const TREES_DIR: &str = "trees";
/// The default branch.
pub const DEFAULT_REF: &str = "main";

/// `<repo>/`
pub fn repo_dir(folder: &str) -> PathBuf {
    PathBuf::from(folder)
}

/// `<repo>/snapshots/`
pub fn snapshots_dir(folder: &str) -> PathBuf {
    repo_dir(folder).join(SNAPSHOTS_DIR)
}

/// `<repo>/snapshots/<revision>/`
pub fn snapshot_dir(folder: &str, revision: &str) -> PathBuf {
    snapshots_dir(folder).join(revision)
}

/// `<repo>/refs/<name>` (`name` may contain `/`, stored as nested folders).
pub fn ref_path(folder: &str, name: &str) -> PathBuf {
    repo_dir(folder).join(REFS_DIR).join(name)
}

/// `<repo>/blobs/`
pub fn blobs_dir(folder: &str) -> PathBuf {
    repo_dir(folder).join(BLOBS_DIR)
}

/// `<repo>/blobs/<etag>`
pub fn blob_path(folder: &str, etag: &str) -> PathBuf {
    blobs_dir(folder).join(etag)
}

/// `.locks/<repo>/`
pub fn locks_dir(folder: &str) -> PathBuf {
    PathBuf::from(LOCKS_DIR).join(folder)
}

/// `<repo>/.no_exist/<commit>/`
pub fn no_exist_dir(folder: &str, commit: &str) -> PathBuf {
    repo_dir(folder).join(NO_EXIST_DIR).join(commit)
}

/// `<repo>/trees/<commit>.json`
pub fn tree_path(folder: &str, commit: &str) -> PathBuf {
    repo_dir(folder)
        .join(TREES_DIR)
        .join(format!("{commit}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cache_relative() {
        let f = "models--org--name";
        assert_eq!(repo_dir(f), PathBuf::from("models--org--name"));
        assert_eq!(
            snapshots_dir(f),
            PathBuf::from("models--org--name/snapshots")
        );
        assert_eq!(
            snapshot_dir(f, "abc"),
            PathBuf::from("models--org--name/snapshots/abc")
        );
        assert_eq!(
            ref_path(f, "refs/pr/1"),
            PathBuf::from("models--org--name/refs/refs/pr/1")
        );
        assert_eq!(blobs_dir(f), PathBuf::from("models--org--name/blobs"));
        assert_eq!(
            blob_path(f, "e"),
            PathBuf::from("models--org--name/blobs/e")
        );
        assert_eq!(locks_dir(f), PathBuf::from(".locks/models--org--name"));
        assert_eq!(
            no_exist_dir(f, "c"),
            PathBuf::from("models--org--name/.no_exist/c")
        );
        assert_eq!(
            tree_path(f, "c"),
            PathBuf::from("models--org--name/trees/c.json")
        );
    }
}

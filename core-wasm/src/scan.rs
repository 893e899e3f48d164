//! The cache root: which repos it holds. Unknown entries (`CACHEDIR.TAG`, `.locks`, the
//! shared `blobs` store, OS litter, stray files) are skipped, never fatal; a missing root
//! is an empty cache.

use crate::error::CoreError;
use crate::fs::{CacheFs, Kind};
use crate::naming::{self, RepoType};

/// One repo folder at the cache root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRepo {
    /// Model, dataset, space or kernel.
    pub repo_type: RepoType,
    /// `org/name` as converted from the folder name.
    pub repo_id: String,
    /// The folder name (`models--org--name`).
    pub folder: String,
    /// Whether the folder is a real folder (a stray file named like a repo is not).
    pub is_dir: bool,
}

/// What a scan of the root found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheInfo {
    /// Whether the cache root exists.
    pub exists: bool,
    /// Repos, sorted by folder name.
    pub repos: Vec<CachedRepo>,
}

impl CacheInfo {
    /// Model repos that are folders, without the test-suite canaries.
    pub fn models(&self) -> impl Iterator<Item = &CachedRepo> {
        self.repos.iter().filter(|r| {
            r.repo_type == RepoType::Model && r.is_dir && !naming::is_sentinel(&r.repo_id)
        })
    }
}

/// Lists the repos at the root of the cache. A missing cache is empty; a cache that
/// exists but cannot be listed is an error (an empty answer would be a lie).
pub fn scan_cache(fs: &CacheFs) -> Result<CacheInfo, CoreError> {
    if !fs.root_exists() {
        // A cache the user named must be there; only the default location may be absent.
        if let Some(location) = fs.location() {
            location.check(fs.creates_cache())?;
        }
        return Ok(CacheInfo::default());
    }
    let mut info = CacheInfo {
        exists: true,
        ..CacheInfo::default()
    };
    let entries = fs
        .read_dir(std::path::Path::new(""))
        .map_err(|e| CoreError::CacheUnreadable(crate::fs::describe(&e)))?;
    for (name, kind) in entries {
        if let Some((repo_type, repo_id)) = naming::parse_repo_folder(&name) {
            info.repos.push(CachedRepo {
                repo_type,
                repo_id,
                is_dir: kind == Kind::Dir,
                folder: name,
            });
        }
    }
    Ok(info)
}

//! `MLXK_WORKSPACE_HOME` (workspaces-reference §1.10): a folder of workspaces that bare
//! names reach. When it is set and a folder, the host mounts it read-only as
//! `/workspace-home` and says where it is with `--workspace-home=<absolute path>`. Names
//! resolve there before the cache: the child of that exact name if it is a workspace,
//! else the first child (by name, so every runtime agrees) whose name contains the spec,
//! case-insensitively.

use std::path::{Path, PathBuf};

use super::model::is_workspace;
use super::mount::{Mount, Workspaces};
use crate::fs::{CacheFs, Kind};

/// The guest option that carries the home's path.
pub const FLAG: &str = "--workspace-home=";
/// Where the guest sees the home.
pub const GUEST_ROOT: &str = "/workspace-home";

/// Takes the home option out of the front of `args`.
pub fn extract(args: &mut Vec<String>) -> Option<String> {
    let first = args.first()?;
    let path = first.strip_prefix(FLAG)?.to_owned();
    args.remove(0);
    path.starts_with('/').then_some(path)
}

/// The mounted home.
#[derive(Debug)]
pub struct Home {
    /// Its absolute host path.
    pub root: String,
    /// Where it is readable (`/workspace-home` in the sandbox).
    pub at: PathBuf,
    fs: CacheFs,
}

impl Home {
    /// The home at host path `root`, readable at `at`.
    pub fn new(root: String, at: PathBuf) -> Self {
        Self {
            fs: CacheFs::new(&at),
            root,
            at,
        }
    }

    /// The child folders that are workspaces, by name.
    pub fn workspaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .fs
            .read_dir(Path::new(""))
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, kind)| *kind == Kind::Dir && is_workspace(&self.fs, Path::new(name)))
            .map(|(name, _)| name)
            .collect();
        names.sort();
        names
    }

    /// The workspace `spec` names here, if any (§1.2 step 3).
    pub fn find(&self, spec: &str) -> Option<String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return None;
        }
        let all = self.workspaces();
        if let Some(exact) = all.iter().find(|n| n.as_str() == spec) {
            return Some(exact.clone());
        }
        let needle = spec.to_lowercase();
        all.into_iter().find(|n| n.to_lowercase().contains(&needle))
    }

    /// One child as a mounted workspace (named by its absolute path).
    pub fn child(&self, name: &str) -> Workspaces {
        let root = format!("{}/{name}", self.root.trim_end_matches('/'));
        Workspaces::new(Mount { root, prefix: None }, &self.at.join(name))
    }
}

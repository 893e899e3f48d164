//! A workspace as a model (workspaces-reference §1.6): the folder is both root and
//! "snapshot", evaluated by the same classification, health and runtime rules as a cached
//! model, plus what its sentinel says (origin, pinned hash, clean state).

use std::path::Path;

use serde_json::Value;

use super::clean::{self, Clean};
use super::sentinel::{self, Sentinel};
use crate::classify;
use crate::fs::CacheFs;
use crate::health::{self, Health};
use crate::manifest::ModelFiles;
use crate::model::Evaluation;
use crate::naming::is_commit_hash;
use crate::snapshot::{Manifest, Selection};

/// What the reference calls a workspace: a folder with an entry named `config.json`.
pub fn is_workspace(fs: &CacheFs, dir: &Path) -> bool {
    fs.lstat(&dir.join("config.json")).is_ok()
}

/// A workspace evaluated, with its sentinel and clean state.
#[derive(Debug, Clone)]
pub struct WorkspaceModel {
    /// The shared evaluation (`object` has the workspace fields filled in).
    pub eval: Evaluation,
    /// The sentinel, when it is a JSON object.
    pub sentinel: Option<Sentinel>,
    /// The clean check.
    pub clean: Clean,
}

impl WorkspaceModel {
    /// `show`'s `workspace_metadata`: the whole sentinel, `{}` without one.
    pub fn metadata(&self) -> Value {
        Value::Object(self.sentinel.clone().map(|s| s.fields).unwrap_or_default())
    }

    /// `managed` of a health entry.
    pub fn managed(&self) -> bool {
        self.sentinel.as_ref().is_some_and(Sentinel::managed)
    }
}

/// Evaluates the workspace at `dir` of `fs` (a folder the host mounted), reported as
/// `name` (its absolute path).
pub fn evaluate(fs: &CacheFs, dir: &Path, name: &str) -> WorkspaceModel {
    let modified = fs.lstat(dir).ok().and_then(|st| st.modified);
    let manifest = Manifest::walk(fs, dir);
    let files = ModelFiles::load(fs, &manifest);
    // The name rules (`mlx-community/`, `instruct`, ...) see the absolute path.
    let class = classify::classify(name, &manifest, &files);
    // A folder that cannot be listed (a file name that is not UTF-8, permissions) is
    // reported as such, not as a missing config.json.
    let health = if manifest.get("config.json").is_none() && manifest.unreadable_dirs.is_empty() {
        Health::bad("No config.json found in workspace")
    } else {
        health::check_snapshot(fs, &manifest, &files, class.is_vision(), &[])
    };
    let sentinel = Sentinel::read(fs, dir);
    let clean = clean::check(fs, dir, sentinel.as_ref());
    if let Clean::Corrupt(why) = &clean {
        crate::diagnostics::warn(format!("Corrupt sentinel in {name}: {why}"));
    }
    let folder = name.rsplit('/').next().unwrap_or_default();
    let hash = is_commit_hash(folder).then(|| folder.to_owned());
    let mut object = crate::model::object(name, hash, modified, &manifest, &files, &class, &health);
    object.cached = false;
    let field =
        |get: fn(&Sentinel) -> Option<&str>| sentinel.as_ref().and_then(get).map(str::to_owned);
    object.origin = field(Sentinel::source_repo);
    object.content_hash = field(Sentinel::content_hash);
    object.hash_modified = field(Sentinel::hash_modified);
    object.clean = clean.as_json();
    fs.release();
    WorkspaceModel {
        eval: Evaluation {
            object,
            selection: Selection::Snapshot {
                revision: folder.to_owned(),
                via: crate::snapshot::Via::Explicit,
            },
            manifest,
            files,
            health,
            class,
        },
        sentinel,
        clean,
    }
}

/// The sentinel's file name, for callers that list files.
pub const SENTINEL: &str = sentinel::FILE_NAME;

//! `run model[@rev] …`, the guest's half (workspaces-reference §5.2): resolve the name (an
//! explicit workspace path, the workspace home, then the cache), and refuse what cannot
//! run (not found, ambiguous, unhealthy, not runnable by mlx-lm) with the reference's
//! messages. The host runs the engine on the folder the plan names.

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::layout;
use crate::model;
use crate::protocol::{ErrorBody, ModelObject};
use crate::resolve::{self, Resolution};
use crate::scan;
use crate::snapshot::Selection;
use crate::workspace::home::Home;
use crate::workspace::model as ws_model;
use crate::workspace::mount::Workspaces;

/// What the guest decided (`run --plan`), for the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RunPlan {
    /// Refused.
    Reply {
        /// The error.
        error: ErrorBody,
    },
    /// Run the engine on `path`.
    Run {
        /// The model folder's absolute host path (a snapshot, or a workspace).
        path: String,
        /// The model's name (`org/name`, or the workspace's path).
        name: String,
        /// The context window, when the config says.
        context_length: Option<u64>,
    },
}

fn refuse(e: CoreError) -> RunPlan {
    RunPlan::Reply { error: e.to_body() }
}

fn gate(spec: &str, object: &ModelObject, path: String) -> RunPlan {
    if !object.runtime_compatible {
        let reason = object.reason.clone().unwrap_or_default();
        return refuse(CoreError::Execution(format!(
            "Model '{spec}' is not compatible: {reason}"
        )));
    }
    RunPlan::Run {
        path,
        name: object.name.clone(),
        context_length: object.context_length,
    }
}

/// Decides what `run <spec>` runs.
pub fn plan(spec: &str, fs: &CacheFs, ws: Option<&Workspaces>, home: Option<&Home>) -> RunPlan {
    let workspace = |w: &Workspaces| {
        let name = w.mount.name_of("");
        let m = ws_model::evaluate(&w.fs, std::path::Path::new(""), &name);
        gate(spec, &m.eval.object, name)
    };
    if resolve::is_explicit_path(spec.trim()) {
        if let Some(w) = ws.filter(|w| w.mount_is_workspace()) {
            return workspace(w);
        }
    } else if let Some(h) = home
        && let Some(child) = h.find(spec)
    {
        return workspace(&h.child(&child));
    }
    let not_found = || {
        let root = fs
            .location()
            .map_or_else(String::new, |l| l.path.trim_end_matches('/').to_owned());
        let base = spec.split('@').next().unwrap_or_default();
        CoreError::Execution(format!(
            "Model '{spec}' not found in cache. Expected at: {root}/models--{}. Try running: mlxk pull {base}",
            base.replace('/', "--")
        ))
    };
    let info = match scan::scan_cache(fs) {
        Ok(info) if info.exists => info,
        Ok(_) => return refuse(not_found()),
        Err(e) => return refuse(e),
    };
    let (repo, revision) = match resolve::resolve(fs, &info, spec) {
        Resolution::NotFound => return refuse(not_found()),
        other => match other.into_found(spec) {
            Ok(found) => found,
            Err(e) => return refuse(e),
        },
    };
    let eval = model::evaluate(fs, &repo, revision.as_deref());
    let Selection::Snapshot { revision, .. } = &eval.selection else {
        return refuse(CoreError::Execution(format!(
            "Model '{spec}' is not compatible: {}",
            eval.health.reason
        )));
    };
    let root = fs.location().map_or_else(String::new, |l| l.path.clone());
    let path = format!(
        "{}/{}",
        root.trim_end_matches('/'),
        layout::snapshot_dir(&repo.folder, revision).to_string_lossy()
    );
    gate(spec, &eval.object, path)
}

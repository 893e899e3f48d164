//! `list [pattern] [--all] [--health] [--verbose]`: every cached model, evaluated.

use std::time::SystemTime;

use super::Outcome;
use crate::fs::CacheFs;
use crate::model;
use crate::protocol::{CommandName, Envelope, ListData};
use crate::render;
use crate::request::ListArgs;
use crate::resolve;
use crate::scan;
use crate::workspace::home::Home;
use crate::workspace::model as ws_model;
use crate::workspace::mount::Workspaces;

/// Lists the models whose full name contains `pattern` (case-insensitive).
pub fn run(
    args: &ListArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    home: Option<&Home>,
    now: SystemTime,
) -> Outcome {
    let pattern = args.pattern.trim();
    if resolve::is_explicit_path(pattern) {
        return workspaces(args, pattern, ws, now);
    }
    let info = match scan::scan_cache(fs) {
        Ok(info) => info,
        Err(e) => {
            return Outcome {
                envelope: Envelope::failure(
                    Some(CommandName::List),
                    e.to_body(),
                    serde_json::Value::Null,
                ),
                human: String::new(),
                exit_code: None,
            };
        }
    };
    let needle = args.pattern.trim().to_lowercase();
    let repos: Vec<_> = info
        .models()
        .filter(|r| needle.is_empty() || r.repo_id.to_lowercase().contains(&needle))
        .cloned()
        .collect();
    let mut models = Vec::with_capacity(repos.len());
    for chunk in repos.chunks(model::PREFETCH_REPOS) {
        model::prefetch(fs, chunk);
        models.extend(chunk.iter().map(|r| model::evaluate(fs, r, None).object));
    }
    fs.prefetch(&[]);
    // The workspace home's folders whose name contains the pattern (§1.10), named by
    // their absolute path (so they sort first), shown by folder name.
    if let Some(h) = home {
        for child in h.workspaces() {
            if !needle.is_empty() && !child.to_lowercase().contains(&needle) {
                continue;
            }
            let ws = h.child(&child);
            let mut m = ws_model::evaluate(&ws.fs, std::path::Path::new(""), &ws.mount.name_of(""))
                .eval
                .object;
            m.display_name = Some(child);
            models.push(m);
        }
    }
    answer(models, args, now)
}

/// `list <path>` (workspaces-reference §1.7): only workspaces, never the cache. The mount
/// itself when it is one; else its direct children that are (or, when the host mounted the
/// path's parent, those whose name starts with the path's last component), sorted by name.
fn workspaces(args: &ListArgs, pattern: &str, ws: Option<&Workspaces>, now: SystemTime) -> Outcome {
    let mut models = Vec::new();
    if let Some(ws) = ws {
        let absolute = pattern.starts_with('/');
        if ws.mount_is_workspace() {
            let name = ws.mount.name_of("");
            let mut m = ws_model::evaluate(&ws.fs, std::path::Path::new(""), &name)
                .eval
                .object;
            let folder = name.rsplit('/').next().unwrap_or_default().to_owned();
            m.display_name = Some(if absolute { name.clone() } else { folder });
            models.push(m);
        } else {
            let prefix = ws.mount.prefix.as_deref().unwrap_or_default();
            let children = ws.fs.read_dir(std::path::Path::new("")).unwrap_or_default();
            for (child, kind) in children {
                let dir = std::path::Path::new(&child);
                if kind != crate::fs::Kind::Dir
                    || !child.starts_with(prefix)
                    || !ws_model::is_workspace(&ws.fs, dir)
                {
                    continue;
                }
                let name = ws.mount.name_of(&child);
                let mut m = ws_model::evaluate(&ws.fs, dir, &name).eval.object;
                m.display_name = Some(if absolute {
                    name.clone()
                } else {
                    child.clone()
                });
                models.push(m);
            }
        }
    }
    answer(models, args, now)
}

/// The envelope and table of `models`, sorted by name.
fn answer(
    mut models: Vec<crate::protocol::ModelObject>,
    args: &ListArgs,
    now: SystemTime,
) -> Outcome {
    models.sort_by(|a, b| a.name.cmp(&b.name));
    // The table shows only what mlx-lm can run; say what it leaves out and how to see it.
    let hidden = models
        .iter()
        .filter(|m| !(m.health == "healthy" && m.runtime_compatible))
        .count();
    if !args.all && hidden > 0 {
        let pattern = args.pattern.trim();
        let command = if pattern.is_empty() {
            "mlxk list --all".to_owned()
        } else {
            format!("mlxk list {pattern} --all")
        };
        let count = if hidden == 1 {
            "1 more model is".to_owned()
        } else {
            format!("{hidden} more models are")
        };
        crate::diagnostics::note(format!(
            "{count} not MLX-runnable or not healthy: {command}"
        ));
    }
    let data = ListData {
        count: models.len(),
        models,
        system: None,
    };
    let human = render::list::table(&data, args, now);
    Outcome {
        envelope: Envelope::success(CommandName::List, data),
        human,
        exit_code: None,
    }
}

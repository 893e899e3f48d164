//! `health [model[@rev]] [--deep]`: integrity of every model, or of one (reference §1.5,
//! §3); `--deep` adds the offline audit of [`crate::audit`].

use super::Outcome;
use crate::audit;
use crate::capability;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::model;
use crate::naming::{self, RepoType};
use crate::protocol::{
    CommandName, DeepSummary, Envelope, HealthData, HealthEntry, HealthSummary, to_value,
};
use crate::render;
use crate::request::HealthArgs;
use crate::resolve::{self, Resolution};
use crate::scan::{self, CachedRepo};
use crate::snapshot::Selection;
use crate::workspace::home::Home;
use crate::workspace::model as ws_model;
use crate::workspace::mount::Workspaces;

/// Checks every model repo, or the one `args.model` names.
pub fn run(
    args: &HealthArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    home: Option<&Home>,
) -> Outcome {
    if args
        .model
        .as_deref()
        .is_some_and(|m| resolve::is_explicit_path(m.trim()))
    {
        return workspace(args, ws);
    }
    // The workspace home comes before the cache (workspaces-reference §1.2 step 3).
    if let Some(spec) = args.model.as_deref()
        && let Some(h) = home
        && let Some(child) = h.find(spec)
    {
        // Named by the folder's name, as in the full listing.
        let entry = HealthEntry {
            name: child.clone(),
            ..workspace_entry(&h.child(&child))
        };
        let mut data = HealthData::default();
        if entry.status == "healthy" {
            data.healthy.push(entry);
        } else {
            data.unhealthy.push(entry);
        }
        data.summary = summary(&data);
        return Outcome {
            human: render::health::text(&data),
            envelope: Envelope::success(CommandName::Health, data),
            exit_code: None,
        };
    }
    // Every workspace of the home first, by folder name; a cached model whose short
    // name is one of theirs is left out (§1.10).
    let home_entries: Vec<(String, HealthEntry)> = match (home, &args.model) {
        (Some(h), None) => h
            .workspaces()
            .into_iter()
            .map(|child| {
                let entry = workspace_entry(&h.child(&child));
                (
                    child.clone(),
                    HealthEntry {
                        name: child,
                        ..entry
                    },
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let info = match scan::scan_cache(fs) {
        Ok(info) => info,
        Err(e) => return failure(e),
    };
    let targets: Vec<(CachedRepo, Option<String>)> = match &args.model {
        // Every `models--*` entry, files included, as the reference does.
        None => info
            .repos
            .iter()
            .filter(|r| r.repo_type == RepoType::Model && !naming::is_sentinel(&r.repo_id))
            .filter(|r| {
                let short = r.repo_id.rsplit('/').next().unwrap_or_default();
                !home_entries.iter().any(|(dir, _)| dir == short)
            })
            .map(|r| (r.clone(), None))
            .collect(),
        Some(spec) => match resolve::resolve(fs, &info, spec) {
            // No match is an empty success, not an error (reference §1.5).
            Resolution::NotFound => Vec::new(),
            other => match other.into_found(spec) {
                Ok(found) => vec![found],
                Err(e) => return failure(e),
            },
        },
    };
    let mut rows: Vec<(HealthEntry, Option<audit::RepoAudit>)> = Vec::new();
    for (i, (repo, revision)) in targets.iter().enumerate() {
        if i % model::PREFETCH_REPOS == 0 {
            let chunk: Vec<_> = targets[i..]
                .iter()
                .take(model::PREFETCH_REPOS)
                .map(|(r, _)| r.clone())
                .collect();
            model::prefetch(fs, &chunk);
        }
        let eval = model::evaluate(fs, repo, revision.as_deref());
        let audit = args.deep.then(|| {
            // `@rev` narrows the audit to the snapshot it selected (none if not found).
            let plan = match (&eval.selection, revision) {
                (Selection::Snapshot { revision, .. }, Some(_)) => {
                    audit::plan(fs, &repo.folder, Some(revision))
                }
                (_, Some(_)) => audit::RepoAudit::default(),
                (_, None) => audit::plan(fs, &repo.folder, None),
            };
            fs.release();
            plan
        });
        let entry = HealthEntry {
            name: repo.repo_id.clone(),
            status: if eval.health.healthy {
                "healthy"
            } else {
                "unhealthy"
            },
            reason: eval.health.reason,
            managed: None,
            deep: None,
        };
        rows.push((entry, audit));
    }
    // The audit below reads the cache as it is then, not as it was listed.
    fs.prefetch(&[]);
    let mut data = HealthData::default();
    for (_, entry) in home_entries {
        if entry.status == "healthy" {
            data.healthy.push(entry);
        } else {
            data.unhealthy.push(entry);
        }
    }
    if args.deep {
        let (bytes, files) = rows
            .iter()
            .filter_map(|(_, a)| a.as_ref())
            .fold((0, 0), |(b, f), a| {
                (b + a.planned_bytes(), f + a.planned_files())
            });
        capability::progress_begin(bytes, files);
        data.deep = Some(DeepSummary::default());
    }
    for (mut entry, plan) in rows {
        if let Some(plan) = plan {
            let report = audit::execute(fs, plan);
            if entry.status == "healthy"
                && let Some(why) = audit::first_corruption(&report)
            {
                entry.status = "unhealthy";
                entry.reason = why.to_owned();
            }
            if let Some(summary) = data.deep.as_mut() {
                audit::tally(summary, &report);
            }
            entry.deep = Some(report);
        }
        if entry.status == "healthy" {
            data.healthy.push(entry);
        } else {
            data.unhealthy.push(entry);
        }
    }
    data.summary = summary(&data);
    // The audit ran (status success), but a corrupt cache must fail a script's `&&`.
    let exit_code = strict_exit(args, &data);
    Outcome {
        human: render::health::text(&data),
        envelope: Envelope::success(CommandName::Health, data),
        exit_code,
    }
}

/// An error keeps the empty data structure, as the reference does.
fn failure(e: CoreError) -> Outcome {
    Outcome {
        envelope: Envelope::failure(
            Some(CommandName::Health),
            e.to_body(),
            to_value(HealthData::default()),
        ),
        human: String::new(),
        exit_code: None,
    }
}

/// `health <path>`: the workspace the path names, or nothing (no folder scan, reference
/// §1.8); entries carry `managed`.
fn workspace(args: &HealthArgs, ws: Option<&Workspaces>) -> Outcome {
    let mut data = HealthData::default();
    if let Some(ws) = ws.filter(|w| w.mount_is_workspace()) {
        let entry = workspace_entry(ws);
        if entry.status == "healthy" {
            data.healthy.push(entry);
        } else {
            data.unhealthy.push(entry);
        }
    }
    data.summary = summary(&data);
    Outcome {
        human: render::health::text(&data),
        // No deep audit for a workspace: only `--strict` changes its exit code.
        exit_code: (args.strict && data.summary.unhealthy_count > 0).then_some(1),
        envelope: Envelope::success(CommandName::Health, data),
    }
}

/// Exit 1 when a model is unhealthy and the caller asked for it (`--strict`, or `--deep`,
/// which reports corruption); plain `health` keeps the reference's 0.
fn strict_exit(args: &HealthArgs, data: &HealthData) -> Option<i32> {
    ((args.deep || args.strict) && data.summary.unhealthy_count > 0).then_some(1)
}

/// The health entry of a mounted workspace (named by its absolute path, with `managed`).
fn workspace_entry(ws: &Workspaces) -> HealthEntry {
    let model = ws_model::evaluate(&ws.fs, std::path::Path::new(""), &ws.mount.name_of(""));
    HealthEntry {
        name: model.eval.object.name.clone(),
        status: if model.eval.health.healthy {
            "healthy"
        } else {
            "unhealthy"
        },
        reason: model.eval.health.reason.clone(),
        managed: Some(model.managed()),
        deep: None,
    }
}

/// The counts of the entries `data` holds.
fn summary(data: &HealthData) -> HealthSummary {
    HealthSummary {
        total: data.healthy.len() + data.unhealthy.len(),
        healthy_count: data.healthy.len(),
        unhealthy_count: data.unhealthy.len(),
    }
}

//! `health [model[@rev]]`: integrity of every model, or of one (reference §1.5, §3).

use super::Outcome;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::model;
use crate::naming::{self, RepoType};
use crate::protocol::{CommandName, Envelope, HealthData, HealthEntry, HealthSummary, to_value};
use crate::render;
use crate::request::HealthArgs;
use crate::resolve::{self, Resolution};
use crate::scan::{self, CachedRepo};

/// Checks every model repo, or the one `args.model` names.
pub fn run(args: &HealthArgs, fs: &CacheFs) -> Outcome {
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
    let mut data = HealthData::default();
    for (repo, revision) in &targets {
        let eval = model::evaluate(fs, repo, revision.as_deref());
        let entry = HealthEntry {
            name: repo.repo_id.clone(),
            status: if eval.health.healthy {
                "healthy"
            } else {
                "unhealthy"
            },
            reason: eval.health.reason,
        };
        if eval.health.healthy {
            data.healthy.push(entry);
        } else {
            data.unhealthy.push(entry);
        }
    }
    data.summary = HealthSummary {
        total: data.healthy.len() + data.unhealthy.len(),
        healthy_count: data.healthy.len(),
        unhealthy_count: data.unhealthy.len(),
    };
    Outcome {
        human: render::health::text(&data),
        envelope: Envelope::success(CommandName::Health, data),
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
    }
}

//! `list [pattern] [--all] [--health] [--verbose]`: every cached model, evaluated.

use std::time::SystemTime;

use super::Outcome;
use crate::fs::CacheFs;
use crate::model;
use crate::protocol::{CommandName, Envelope, ListData};
use crate::render;
use crate::request::ListArgs;
use crate::scan;

/// Lists the models whose full name contains `pattern` (case-insensitive).
pub fn run(args: &ListArgs, fs: &CacheFs, now: SystemTime) -> Outcome {
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
    let mut models: Vec<_> = repos
        .iter()
        .map(|r| model::evaluate(fs, r, None).object)
        .collect();
    models.sort_by(|a, b| a.name.cmp(&b.name));
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

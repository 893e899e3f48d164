//! The `list` table (reference §7.2).

use std::time::SystemTime;

use super::{humanize_size, wrap};
use crate::protocol::{ListData, ModelObject};
use crate::request::ListArgs;
use crate::time::{human_age, unix_seconds};

/// Width of the wrapped Reason column.
const REASON_WIDTH: usize = 26;
/// Longest reason shown before truncation with `...`.
const REASON_MAX: usize = 60;

/// The `Type` cell: model type plus `+vision` / `+audio`.
fn type_cell(m: &ModelObject) -> String {
    let mut t = m.model_type.to_owned();
    if m.capabilities.contains(&"vision") {
        t.push_str("+vision");
    }
    if m.capabilities.contains(&"audio") && m.model_type != "audio" {
        t.push_str("+audio");
    }
    t
}

fn truncate_reason(reason: &str) -> String {
    if reason.chars().count() > REASON_MAX {
        let head: String = reason.chars().take(REASON_MAX - 3).collect();
        format!("{head}...")
    } else {
        reason.to_owned()
    }
}

/// Renders the list table for `data` as `args` asks.
pub fn table(data: &ListData, args: &ListArgs, now: SystemTime) -> String {
    let now = unix_seconds(now);
    let wide = args.all || args.verbose;
    let mut headers = vec!["Name", "Hash", "Size", "Modified", "Src"];
    if wide {
        headers.extend(["Clean", "Framework"]);
    }
    headers.push("Type");
    let detailed_health = args.health && args.verbose;
    if detailed_health {
        headers.extend(["Integrity", "Runtime", "Reason"]);
    } else if args.health {
        headers.push("Health");
    }
    let mut rows = Vec::new();
    for m in &data.models {
        let runnable = m.health == "healthy" && m.runtime_compatible;
        if !(args.all || runnable) {
            continue;
        }
        let name = if let Some(shown) = &m.display_name {
            shown.as_str()
        } else if args.verbose {
            m.name.as_str()
        } else {
            m.name.strip_prefix("mlx-community/").unwrap_or(&m.name)
        };
        // A workspace without a commit shows its content hash (the digest after `sha256:`).
        let hash = m.hash.as_deref().or_else(|| {
            m.content_hash
                .as_deref()
                .map(|h| h.split_once(':').map_or(h, |(_, digest)| digest))
        });
        let (src, clean) = match (m.cached, m.clean) {
            (true, _) => ("cache", "\u{2014}"),
            (false, Some(true)) => ("ws", "\u{2713}"),
            (false, Some(false)) => ("ws*", "\u{2717}"),
            (false, None) => ("ws?", "\u{2014}"),
        };
        let mut row = vec![
            name.to_owned(),
            hash.map_or("-".into(), |h| h.chars().take(7).collect()),
            humanize_size(m.size_bytes),
            human_age(&m.last_modified, now),
            src.to_owned(),
        ];
        if wide {
            row.extend([clean.to_owned(), m.framework.to_owned()]);
        }
        row.push(type_cell(m));
        let healthy = m.health == "healthy";
        if detailed_health {
            let runtime = match (healthy, m.runtime_compatible) {
                (false, _) => "-",
                (true, true) => "yes",
                (true, false) => "no",
            };
            row.extend([m.health.to_owned(), runtime.to_owned()]);
            let reason = m.reason.as_deref().map_or("-".into(), truncate_reason);
            let mut lines = wrap(&reason, REASON_WIDTH).into_iter();
            row.push(lines.next().unwrap_or_default());
            let width = row.len();
            rows.push(row);
            for more in lines {
                let mut cont = vec![String::new(); width - 1];
                cont.push(more);
                rows.push(cont);
            }
            continue;
        }
        if args.health {
            let cell = match (healthy, m.runtime_compatible) {
                (true, true) => "healthy",
                (true, false) => "healthy*",
                (false, _) => "unhealthy",
            };
            row.push(cell.to_owned());
        }
        rows.push(row);
    }
    let fixed: Vec<(usize, usize)> = if detailed_health {
        vec![(headers.len() - 1, REASON_WIDTH)]
    } else {
        Vec::new()
    };
    let fit = args.width.filter(|_| !args.no_truncate);
    super::fitted_table(&headers, &rows, &fixed, fit)
}

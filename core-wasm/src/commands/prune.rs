//! `prune [--dry-run]`: remove what no name reaches and no process uses (detached revisions,
//! orphan blobs, interrupted downloads, stale locks), as [`crate::prune`] decides.

use std::time::SystemTime;

use super::Outcome;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::protocol::{
    CommandName, Envelope, PruneData, PruneItem, PruneKept, PruneSummary, to_value,
};
use crate::prune::{self, ItemKind, Pruned};
use crate::render::humanize_size;
use crate::request::PruneArgs;
use crate::scan;
use serde_json::Value;

/// Runs `prune`.
pub fn run(args: &PruneArgs, fs: &CacheFs, now: SystemTime) -> Outcome {
    let info = match scan::scan_cache(fs) {
        Ok(info) if info.exists => info,
        Ok(_) => return failure(&CoreError::CacheNotFound, Value::Null),
        Err(e) => return failure(&e, Value::Null),
    };
    match prune::prune(fs, &info, now, args.dry_run) {
        (done, None) => {
            let data = data_of(&done, args.dry_run);
            let human = render(&data);
            Outcome {
                envelope: Envelope::success(CommandName::Prune, data),
                human,
                exit_code: None,
            }
        }
        // What went before the failure is reported with it: a rerun finishes the job.
        (done, Some(e)) => failure(&e, to_value(data_of(&done, args.dry_run))),
    }
}

fn failure(e: &CoreError, data: Value) -> Outcome {
    Outcome {
        envelope: Envelope::failure(Some(CommandName::Prune), e.to_body(), data),
        human: String::new(),
        exit_code: None,
    }
}

fn data_of(done: &Pruned, dry_run: bool) -> PruneData {
    let mut summary = PruneSummary::default();
    for item in &done.items {
        summary.freed_bytes += item.bytes;
        match item.kind {
            ItemKind::Revision => summary.revisions += 1,
            ItemKind::OrphanBlob => summary.orphan_blobs += 1,
            ItemKind::IncompleteDownload => summary.incomplete_downloads += 1,
            ItemKind::StaleLock => summary.stale_locks += 1,
            ItemKind::LockFolder => summary.lock_folders += 1,
        }
    }
    let path = |p: &std::path::Path| p.to_string_lossy().replace('\\', "/");
    let removed = done
        .items
        .iter()
        .map(|i| PruneItem {
            kind: i.kind.as_str().to_owned(),
            model: i.model.clone(),
            path: path(&i.path),
            commit_hash: i.commit.clone(),
            bytes: i.bytes,
        })
        .collect();
    let kept = done
        .kept
        .iter()
        .map(|k| PruneKept {
            kind: k.kind.as_str().to_owned(),
            model: k.model.clone(),
            path: path(&k.path),
            reason: k.reason.as_str().to_owned(),
        })
        .collect();
    let what = describe(&summary);
    let (action, message) = if done.items.is_empty() {
        ("nothing_to_prune", "Nothing to prune".to_owned())
    } else if dry_run {
        (
            "would_prune",
            format!(
                "Would remove {what} ({})",
                humanize_size(summary.freed_bytes)
            ),
        )
    } else {
        (
            "pruned",
            format!(
                "Removed {what}; freed {}",
                humanize_size(summary.freed_bytes)
            ),
        )
    };
    PruneData {
        action: action.to_owned(),
        message,
        dry_run,
        removed,
        kept,
        summary,
    }
}

/// `2 detached revisions, 1 interrupted download and 3 stale locks`
fn describe(s: &PruneSummary) -> String {
    let counted = [
        (s.revisions, "detached revision", "detached revisions"),
        (s.orphan_blobs, "orphan blob", "orphan blobs"),
        (
            s.incomplete_downloads,
            "interrupted download",
            "interrupted downloads",
        ),
        (s.stale_locks, "stale lock", "stale locks"),
        (
            s.lock_folders,
            "leftover lock folder",
            "leftover lock folders",
        ),
    ];
    let parts: Vec<String> = counted
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// One line per removed item, the kept ones with their reason, then the message.
fn render(data: &PruneData) -> String {
    let mut out = String::new();
    for item in &data.removed {
        let what = match (&item.commit_hash, item.kind.as_str()) {
            (Some(commit), _) => format!("{}@{}", item.model, &commit[..commit.len().min(8)]),
            _ => item.path.clone(),
        };
        let size = if item.bytes > 0 {
            format!("  {}", humanize_size(item.bytes))
        } else {
            String::new()
        };
        out.push_str(&format!("  {:<20} {what}{size}\n", item.kind));
    }
    for kept in &data.kept {
        out.push_str(&format!(
            "  kept {:<15} {} ({})\n",
            kept.kind,
            kept.path,
            kept.reason.replace('_', " ")
        ));
    }
    out.push_str(&format!("prune: {}\n", data.message));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_counts_in_one_sentence() {
        let mut s = PruneSummary::default();
        assert_eq!(describe(&s), "");
        s.revisions = 2;
        assert_eq!(describe(&s), "2 detached revisions");
        s.incomplete_downloads = 1;
        s.stale_locks = 3;
        assert_eq!(
            describe(&s),
            "2 detached revisions, 1 interrupted download and 3 stale locks"
        );
    }
}

//! `show <workspace> --recalc-hash` (workspaces-reference §1.9): re-pin a managed
//! workspace's content hash in its sentinel, keeping every other key and the stored
//! exclude list. Failures leave the sentinel as it was and say why on stderr, as 2.0.8.

use std::path::Path;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::content_hash;
use super::exclude::Excludes;
use super::sentinel::Sentinel;
use crate::diagnostics::warn;
use crate::fs::CacheFs;

/// Re-pins the workspace at `base` (reported as `name`); whether the sentinel was written.
pub fn recalc(fs: &CacheFs, base: &Path, name: &str, now: SystemTime) -> bool {
    let Some(mut sentinel) = Sentinel::read(fs, base).filter(Sentinel::managed) else {
        warn(format!(
            "Cannot update hash: not a managed workspace: {name}"
        ));
        return false;
    };
    let patterns = sentinel.exclude_patterns();
    let hash = match content_hash::compute(fs, base, &Excludes::new(&patterns)) {
        Ok(h) => h,
        Err(e) => {
            warn(e.to_string());
            warn(format!("Cannot compute v2 hash for {name}"));
            return false;
        }
    };
    let index: Vec<Value> = hash
        .file_index
        .iter()
        .map(content_hash::IndexEntry::to_json)
        .collect();
    sentinel.set("hash_modified", crate::time::iso_utc_micros(now).into());
    sentinel.set("hash_algorithm", content_hash::ALGORITHM.into());
    sentinel.set("content_hash", hash.content_hash.into());
    sentinel.set("exclude_patterns", json!(patterns));
    sentinel.set("file_index", index.into());
    match sentinel.write(fs, base) {
        Ok(()) => true,
        Err(e) => {
            warn(format!(
                "Cannot update hash: failed to write workspace sentinel: {}",
                crate::fs::describe(&e)
            ));
            false
        }
    }
}

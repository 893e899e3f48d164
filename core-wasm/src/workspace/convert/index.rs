//! `model.safetensors.index.json` rebuilt from the shards' own headers
//! (workspaces-reference §3.3 step 5), as 2.0.8 writes it: `total_size` is the sum of the
//! shard files' sizes, `weight_map` lists each shard's tensors in name order, shard by
//! shard, and a tensor in two shards is an error.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::fs::{CacheFs, Kind};

/// The index's file name.
pub const INDEX: &str = "model.safetensors.index.json";
/// A header longer than this is refused (the safetensors library's limit).
const MAX_HEADER: u64 = 100_000_000;

/// What the rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebuilt {
    /// Fewer than two shards: nothing to index.
    NothingToDo,
    /// The index was written.
    Written,
}

/// Why the index cannot be rebuilt (2.0.8's `ValueError` texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// A shard's header cannot be read, or repeats a tensor of an earlier shard.
    #[error("Failed to read shard {shard}: {detail}")]
    Shard {
        /// The shard's file name.
        shard: String,
        /// Why.
        detail: String,
    },
    /// The shards name no tensor at all.
    #[error("No tensors found in shards - corrupted model?")]
    Empty,
    /// Writing failed.
    #[error("Cannot write {INDEX}: {0}")]
    Write(String),
}

/// The tensor names of one shard's header, sorted, or the safetensors library's
/// complaint about it.
fn tensor_names(fs: &CacheFs, rel: &Path, size: u64) -> Result<Vec<String>, String> {
    let fail = |what: &str| format!("Error while deserializing header: {what}");
    if size < 8 {
        return Err(fail("header too small"));
    }
    let head = fs
        .read_prefix_sized(rel, 8, Some(size))
        .map_err(|e| crate::fs::describe(&e))?;
    let len = u64::from_le_bytes(
        head.get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| fail("header too small"))?,
    );
    if len > MAX_HEADER {
        return Err(fail("header too large"));
    }
    if len.saturating_add(8) > size {
        return Err(fail("invalid header length"));
    }
    let want = usize::try_from(len + 8).map_err(|_| fail("header too large"))?;
    let bytes = fs
        .read_prefix_sized(rel, want, Some(size))
        .map_err(|e| crate::fs::describe(&e))?;
    let header = bytes
        .get(8..)
        .ok_or_else(|| fail("invalid header length"))?;
    let text =
        std::str::from_utf8(header).map_err(|e| fail(&format!("invalid UTF-8 in header: {e}")))?;
    if !text.starts_with('{') {
        return Err(fail("invalid start character in header, must be `{`"));
    }
    let map: Map<String, Value> = serde_json::from_str(text.trim_end())
        .map_err(|e| fail(&format!("invalid JSON in header: {e}")))?;
    let mut names: Vec<String> = map
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k != "__metadata__")
        .collect();
    names.sort();
    Ok(names)
}

/// Rebuilds the index of the workspace at the root of `fs` from its top-level
/// `*.safetensors` files.
pub fn rebuild(fs: &CacheFs) -> Result<Rebuilt, IndexError> {
    let mut shards: Vec<String> = fs
        .read_dir(Path::new(""))
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, kind)| *kind == Kind::File && name.ends_with(".safetensors"))
        .map(|(name, _)| name)
        .collect();
    shards.sort();
    if shards.len() < 2 {
        return Ok(Rebuilt::NothingToDo);
    }
    let mut total: u64 = 0;
    let mut owner: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut weight_map = Map::new();
    for shard in &shards {
        let rel = Path::new(shard);
        let size = fs.lstat(rel).map(|st| st.size).unwrap_or(0);
        total += size;
        let names = tensor_names(fs, rel, size).map_err(|detail| IndexError::Shard {
            shard: shard.clone(),
            detail,
        })?;
        for name in names {
            if let Some(first) = owner.get(&name) {
                return Err(IndexError::Shard {
                    shard: shard.clone(),
                    detail: format!(
                        "Duplicate tensor key '{name}' found in multiple shards: {first} and {shard}"
                    ),
                });
            }
            owner.insert(name.clone(), shard.clone());
            weight_map.insert(name, Value::String(shard.clone()));
        }
    }
    if weight_map.is_empty() {
        return Err(IndexError::Empty);
    }
    let index = json!({"metadata": {"total_size": total}, "weight_map": Value::Object(weight_map)});
    let mut bytes = crate::json::to_python_json(&index);
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    fs.replace_file_via(Path::new(INDEX), Path::new(&format!("{INDEX}.tmp")), &bytes)
        .map_err(|e| IndexError::Write(crate::fs::describe(&e)))?;
    Ok(Rebuilt::Written)
}

//! Integrity of one snapshot: the reference's ordered rules (§3.2–§3.3), first failure
//! wins, with its exact reason strings; then the findings the reference is blind to
//! (links that dangle, escape the cache or loop; unreadable files; interrupted downloads).

use std::path::Path;

use serde_json::Value;

use crate::fs::{CacheFs, Resolved};
use crate::manifest::{self, JsonFile, ModelFiles};
use crate::snapshot::{Entry, Manifest};

/// Reason of a healthy single-file model.
pub const HEALTHY: &str = "Model is healthy";
/// Reason of a healthy indexed model.
pub const HEALTHY_MULTI: &str = "Multi-file model complete";

/// Files smaller than this are checked for being Git LFS pointers.
const LFS_MAX_SIZE: u64 = 200;
/// How much of a small file is searched for the pointer header.
const LFS_PROBE_BYTES: usize = 100;
pub(crate) const LFS_HEADER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

/// The verdict on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether every check passed.
    pub healthy: bool,
    /// `Model is healthy`, `Multi-file model complete`, or the first failure.
    pub reason: String,
}

impl Health {
    fn ok(reason: &str) -> Self {
        Self {
            healthy: true,
            reason: reason.to_owned(),
        }
    }

    /// An unhealthy verdict with `reason`.
    pub fn bad(reason: impl Into<String>) -> Self {
        Self {
            healthy: false,
            reason: reason.into(),
        }
    }
}

type Check = Result<(), String>;

/// `model-00001-of-00003.safetensors` → `(1, 3)`; the name may carry a prefix.
pub fn shard_pattern(name: &str) -> Option<(u32, u32)> {
    let stem = name.strip_suffix(".safetensors")?;
    // "model-" + 5 digits + "-of-" + 5 digits = 20 bytes.
    let tail = stem.get(stem.len().checked_sub(20)?..)?;
    let rest = tail.strip_prefix("model-")?;
    let (idx, total) = rest.split_once("-of-")?;
    let digits = |s: &str| {
        (s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    Some((digits(idx)?, digits(total)?))
}

fn join(names: &[&str]) -> String {
    names.join(", ")
}

/// Checks one walked snapshot. `blob_names` lists the repo's `blobs/` folder, for
/// interrupted-download detection.
pub fn check_snapshot(
    fs: &CacheFs,
    manifest: &Manifest,
    files: &ModelFiles,
    is_vision: bool,
    blob_names: &[String],
) -> Health {
    // An unlistable folder, a link out of the cache or a loop outranks whatever the
    // reference rules would conclude from what could not be seen.
    if let Err(reason) = unsafe_links(manifest) {
        return Health::bad(reason);
    }
    match reference_rules(fs, manifest, files, is_vision) {
        Err(reason) => Health::bad(reason),
        Ok(reason) => match added_findings(manifest, blob_names) {
            Err(reason) => Health::bad(reason),
            Ok(()) => Health::ok(reason),
        },
    }
}

fn reference_rules(
    fs: &CacheFs,
    m: &Manifest,
    files: &ModelFiles,
    is_vision: bool,
) -> Result<&'static str, String> {
    if let Some(problem) = files.config.problem("config.json") {
        return Err(problem);
    }
    match &files.config {
        JsonFile::Missing => return Err("config.json missing".into()),
        JsonFile::Parsed(Value::Object(o)) if !o.is_empty() => {}
        JsonFile::Parsed(_) => return Err("config.json is empty or invalid".into()),
        _ => return Err("config.json contains invalid JSON".into()),
    }
    let any_named = |suffix: &str| m.entries.iter().any(|e| e.name().ends_with(suffix));
    let index = if m.get("model.safetensors.index.json").is_some() && any_named(".safetensors") {
        Some("model.safetensors.index.json")
    } else if m.get("pytorch_model.bin.index.json").is_some() && any_named(".bin") {
        Some("pytorch_model.bin.index.json")
    } else {
        None
    };
    match index {
        Some(index) => {
            indexed(fs, m, index)?;
            auxiliary(m, files, is_vision)?;
            Ok(HEALTHY_MULTI)
        }
        None => {
            unindexed(fs, m)?;
            auxiliary(m, files, is_vision)?;
            Ok(HEALTHY)
        }
    }
}

fn indexed(fs: &CacheFs, m: &Manifest, index: &str) -> Check {
    let parsed = m
        .get(index)
        .and_then(|e| manifest::read_json_sized(fs, e.real_path()?, e.file_size()).ok())
        .ok_or("Invalid index file")?;
    let weight_map = parsed
        .get("weight_map")
        .and_then(Value::as_object)
        .filter(|w| !w.is_empty())
        .ok_or("Empty or invalid weight_map in index")?;
    let mut referenced: Vec<&str> = weight_map
        .values()
        .map(Value::as_str)
        .collect::<Option<_>>()
        .ok_or("Empty or invalid weight_map in index")?;
    referenced.sort_unstable();
    referenced.dedup();
    let entry = |name: &str| m.get(normalize(name).as_str());
    let missing: Vec<&str> = referenced
        .iter()
        .copied()
        .filter(|r| entry(r).and_then(Entry::file_size).is_none())
        .collect();
    if !missing.is_empty() {
        let top_level = m
            .entries
            .iter()
            .filter(|e| e.is_top_level() && e.name().ends_with(".safetensors"))
            .count();
        return Err(if top_level > 0 {
            format!(
                "Index/shard mismatch (mlx-vlm #624). Index references {} shards but found {} different files. Fix: mlxk convert <model> <output> --repair-index",
                referenced.len(),
                top_level
            )
        } else {
            format!("Missing weight shards: {}", join(&missing))
        });
    }
    let empty: Vec<&str> = referenced
        .iter()
        .copied()
        .filter(|r| entry(r).and_then(Entry::file_size) == Some(0))
        .collect();
    if !empty.is_empty() {
        return Err(format!("Empty weight shards: {}", join(&empty)));
    }
    let pointers: Vec<&str> = referenced
        .iter()
        .copied()
        .filter(|r| entry(r).is_some_and(|e| is_lfs_pointer(fs, e)))
        .collect();
    if !pointers.is_empty() {
        return Err(format!(
            "LFS pointers instead of files: {}",
            join(&pointers)
        ));
    }
    Ok(())
}

/// `./a//b` → `a/b`, so index paths match manifest paths.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn is_weight(name: &str) -> bool {
    name.ends_with(".safetensors") || name.ends_with(".bin") || name.ends_with(".gguf")
}

fn unindexed(fs: &CacheFs, m: &Manifest) -> Check {
    let mut weights: Vec<&Entry> = m
        .entries
        .iter()
        .filter(|e| e.is_top_level() && is_weight(e.name()))
        .collect();
    if weights.is_empty() {
        weights = m.entries.iter().filter(|e| is_weight(e.name())).collect();
    }
    let shards: Vec<(&Entry, (u32, u32))> = weights
        .iter()
        .filter_map(|e| shard_pattern(e.name()).map(|s| (*e, s)))
        .collect();
    if let Some(&(_, (_, total))) = shards.first() {
        if shards.iter().any(|(_, (_, t))| *t != total) {
            return Err("Inconsistent shard totals detected".into());
        }
        let present = (1..=total)
            .filter(|i| shards.iter().any(|(_, (idx, _))| idx == i))
            .count();
        if present < total as usize {
            return Err(format!(
                "Missing shards by pattern: {present}/{total} present"
            ));
        }
        let empty: Vec<&str> = shards
            .iter()
            .filter(|(e, _)| e.file_size() == Some(0))
            .map(|(e, _)| e.name())
            .collect();
        if !empty.is_empty() {
            return Err(format!("Empty shards: {}", join(&empty)));
        }
    }
    if weights.is_empty() {
        return Err("No model weights found".into());
    }
    if m.entries.iter().any(|e| {
        let n = e.name().to_lowercase();
        n.ends_with(".partial") || n.ends_with(".tmp") || n.contains("partial")
    }) {
        return Err("Partial download marker detected".into());
    }
    let empty: Vec<&str> = weights
        .iter()
        .filter(|e| e.file_size() == Some(0))
        .map(|e| e.name())
        .collect();
    if !empty.is_empty() {
        return Err(format!("Empty weight files: {}", join(&empty)));
    }
    if !shards.is_empty() {
        return Err("Safetensors index missing for sharded model".into());
    }
    let pointers: Vec<&str> = m
        .entries
        .iter()
        .filter(|e| is_lfs_pointer(fs, e))
        .map(|e| e.path.as_str())
        .collect();
    if !pointers.is_empty() {
        return Err(format!(
            "LFS pointers instead of files: {}",
            join(&pointers)
        ));
    }
    Ok(())
}

fn is_lfs_pointer(fs: &CacheFs, e: &Entry) -> bool {
    let (Some(size), Some(real)) = (e.file_size(), e.real_path()) else {
        return false;
    };
    // A pointer is at least its header long; shorter files need no read.
    size < LFS_MAX_SIZE
        && size >= LFS_HEADER.len() as u64
        && fs
            .read_prefix_sized(real, LFS_PROBE_BYTES, Some(size))
            .is_ok_and(|b| b.windows(LFS_HEADER.len()).any(|w| w == LFS_HEADER))
}

fn auxiliary(m: &Manifest, files: &ModelFiles, is_vision: bool) -> Check {
    if is_vision {
        let (name, file) = if files.preprocessor.exists() {
            ("preprocessor_config.json", &files.preprocessor)
        } else if files.processor.exists() {
            ("processor_config.json", &files.processor)
        } else {
            return Err(
                "Vision model missing preprocessor_config.json or processor_config.json".into(),
            );
        };
        if let Some(problem) = file.problem(name) {
            return Err(problem);
        }
        match file {
            JsonFile::Invalid => return Err(format!("{name} invalid JSON")),
            JsonFile::Parsed(Value::Object(_)) | JsonFile::Missing => {}
            _ => return Err(format!("{name} invalid")),
        }
    }
    if let Some(problem) = files.tokenizer_config.problem("tokenizer_config.json") {
        return Err(problem);
    }
    match &files.tokenizer_config {
        JsonFile::Missing => {}
        JsonFile::Parsed(Value::Object(_)) => {
            if !m.is_file("tokenizer.json") {
                return Err("tokenizer_config.json present but tokenizer.json missing".into());
            }
        }
        JsonFile::Parsed(_) => return Err("tokenizer_config.json exists but invalid".into()),
        _ => return Err("tokenizer_config.json contains invalid JSON".into()),
    }
    Ok(())
}

/// Findings that make every other conclusion unreliable (PRODUCT.md difference 9): a
/// folder that could not be listed, links that leave the cache or loop.
fn unsafe_links(m: &Manifest) -> Check {
    if let Some((dir, error)) = m.unreadable_dirs.first() {
        let dir = if dir.is_empty() { "." } else { dir };
        return Err(format!("Unreadable folder: {dir} ({error})"));
    }
    for e in &m.entries {
        match &e.state {
            // The target is not shown: wasmtime refuses even to read an absolute link,
            // and both runtimes must print the same reason.
            Resolved::Escapes { .. } => {
                return Err(format!("Link escapes the cache: {}", e.path));
            }
            Resolved::Loop => return Err(format!("Symlink loop: {}", e.path)),
            _ => {}
        }
    }
    Ok(())
}

/// Findings beyond the reference (PRODUCT.md difference 9) once its rules pass.
fn added_findings(m: &Manifest, blob_names: &[String]) -> Check {
    for e in &m.entries {
        match &e.state {
            Resolved::Dangling { target } => {
                return Err(format!("Dangling link: {} -> {target}", e.path));
            }
            Resolved::Unreadable { error } => {
                return Err(format!("Unreadable file: {} ({error})", e.path));
            }
            _ => {}
        }
    }
    let linked = |etag: &str| {
        m.entries.iter().any(|e| {
            e.real_path()
                .and_then(Path::file_name)
                .is_some_and(|n| n == etag)
        })
    };
    for name in blob_names {
        if let Some(stem) = name.strip_suffix(".incomplete") {
            // 2.x: `<etag>.<8hex>.incomplete`; 0.x/1.x: `<etag>.incomplete`.
            let etag = stem.split('.').next().unwrap_or(stem);
            if !linked(etag) {
                return Err(format!("Interrupted download: blobs/{name}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names() {
        assert_eq!(
            shard_pattern("model-00001-of-00002.safetensors"),
            Some((1, 2))
        );
        assert_eq!(
            shard_pattern("x-model-00003-of-00003.safetensors"),
            Some((3, 3))
        );
        assert_eq!(shard_pattern("model-1-of-2.safetensors"), None);
        assert_eq!(shard_pattern("model.safetensors"), None);
        assert_eq!(shard_pattern("model-00001-of-00002.bin"), None);
    }
}

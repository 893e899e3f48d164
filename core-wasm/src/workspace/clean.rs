//! Whether a workspace still holds what its sentinel pinned (`clean`, workspaces-reference
//! §1.5), with one deliberate difference: nothing is written. 2.0.8 rewrites the sentinel
//! when a file's mtime moved but its content did not ("self-heal"), during `list` and
//! `show`; here such a file is clean and the read-only commands stay read-only.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::content_hash::{self, Candidate, CandidateKind};
use super::exclude::Excludes;
use super::sentinel::Sentinel;
use crate::fs::CacheFs;

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clean {
    /// Unknown: no v2 sentinel, or no usable file index.
    Unknown,
    /// The index names a path that must not be trusted (the warning 2.0.8 prints).
    Corrupt(String),
    /// Everything the index pinned is there, unchanged, and nothing was added.
    Clean,
    /// Something was added, changed or removed.
    Dirty,
}

impl Clean {
    /// The model object's `clean`.
    pub fn as_json(&self) -> Option<bool> {
        match self {
            Self::Clean => Some(true),
            Self::Dirty => Some(false),
            Self::Unknown | Self::Corrupt(_) => None,
        }
    }
}

/// Why an index path cannot be trusted, if it cannot (2.0.8's checks, before any disk
/// access).
fn bad_path(path: &Value) -> Option<String> {
    let Some(p) = path.as_str().filter(|p| !p.is_empty()) else {
        return Some(format!("invalid path entry: {path}"));
    };
    if p.contains('\0') {
        return Some(format!("NUL in path: {p:?}"));
    }
    if p.contains('\\') {
        return Some(format!("backslash in path: '{p}'"));
    }
    if p.starts_with('/') {
        return Some(format!("absolute path: '{p}'"));
    }
    if p.chars().nth(1) == Some(':') {
        return Some(format!("drive prefix in path: '{p}'"));
    }
    if p.split('/').any(|c| c == "..") {
        return Some(format!("'..' component in path: '{p}'"));
    }
    None
}

/// Compares the workspace at `base` of `fs` with its sentinel's index.
pub fn check(fs: &CacheFs, base: &Path, sentinel: Option<&Sentinel>) -> Clean {
    let Some(s) = sentinel.filter(|s| s.is_v2()) else {
        return Clean::Unknown;
    };
    let Some(Value::Array(items)) = s.fields.get("file_index") else {
        return Clean::Unknown;
    };
    let mut pinned: HashMap<&str, (u64, u128, &str)> = HashMap::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            return Clean::Corrupt("file_index entry is not an object".into());
        };
        let path = obj.get("path").unwrap_or(&Value::Null);
        if let Some(why) = bad_path(path) {
            return Clean::Corrupt(why);
        }
        let size = obj.get("size").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let mtime = obj
            .get("mtime_ns")
            .and_then(Value::as_u64)
            .map_or(u128::MAX, u128::from);
        let sha = obj.get("sha").and_then(Value::as_str).unwrap_or_default();
        pinned.insert(path.as_str().unwrap_or_default(), (size, mtime, sha));
    }
    let excludes = Excludes::new(&s.exclude_patterns());
    let Ok(found) = content_hash::candidates(fs, base, &excludes) else {
        return Clean::Dirty;
    };
    if found.len() != pinned.len() {
        return Clean::Dirty;
    }
    let same = |c: &Candidate| -> bool {
        let Some(&(size, mtime, sha)) = pinned.get(c.path.as_str()) else {
            return false;
        };
        match c.kind {
            CandidateKind::Link => c.sha(fs).is_ok_and(|h| h == sha),
            CandidateKind::File {
                size: now,
                mtime_ns,
            } => now == size && (mtime_ns == mtime || c.sha(fs).is_ok_and(|h| h == sha)),
        }
    };
    if found.iter().all(same) {
        Clean::Clean
    } else {
        Clean::Dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pinned_workspace() -> (tempfile::TempDir, CacheFs) {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("config.json"), r#"{"model_type":"llama"}"#).unwrap();
        std::fs::write(ws.path().join("data.txt"), "data").unwrap();
        let fs = CacheFs::new(ws.path());
        let h = content_hash::compute(&fs, Path::new(""), &Excludes::default_list()).unwrap();
        let mut s = Sentinel::default();
        s.set("managed", true.into());
        s.set("hash_algorithm", "v2".into());
        s.set("content_hash", h.content_hash.clone().into());
        let index: Vec<Value> = h
            .file_index
            .iter()
            .map(content_hash::IndexEntry::to_json)
            .collect();
        s.set("file_index", index.into());
        s.write(&fs, Path::new("")).unwrap();
        (ws, fs)
    }

    #[test]
    fn clean_dirty_and_unknown() {
        let (ws, fs) = pinned_workspace();
        let read = || Sentinel::read(&fs, Path::new(""));
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Clean);
        // A moved mtime with the same bytes is clean, and nothing is written.
        let before = std::fs::read(ws.path().join(".mlxk_workspace.json")).unwrap();
        let f = std::fs::File::options()
            .write(true)
            .open(ws.path().join("data.txt"))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Clean);
        assert_eq!(
            std::fs::read(ws.path().join(".mlxk_workspace.json")).unwrap(),
            before
        );
        // Excluded files do not count.
        std::fs::write(ws.path().join("notes.log"), "x").unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Clean);
        // Same size, other bytes; an added file; a removed file.
        std::fs::write(ws.path().join("data.txt"), "DATA").unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Dirty);
        std::fs::write(ws.path().join("data.txt"), "data").unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Clean);
        std::fs::write(ws.path().join("new.txt"), "n").unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Dirty);
        std::fs::remove_file(ws.path().join("new.txt")).unwrap();
        std::fs::remove_file(ws.path().join("data.txt")).unwrap();
        assert_eq!(check(&fs, Path::new(""), read().as_ref()), Clean::Dirty);
        // No v2 sentinel: unknown.
        assert_eq!(check(&fs, Path::new(""), None), Clean::Unknown);
        let mut v1 = read().unwrap();
        v1.set("hash_algorithm", "v1".into());
        assert_eq!(check(&fs, Path::new(""), Some(&v1)), Clean::Unknown);
    }

    #[test]
    fn an_index_path_out_of_the_workspace_is_never_looked_at() {
        let (_ws, fs) = pinned_workspace();
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a\\b",
            "C:x",
            "",
            "a/../../b",
        ] {
            let mut s = Sentinel::read(&fs, Path::new("")).unwrap();
            s.set(
                "file_index",
                json!([{"path": bad, "size": 1, "mtime_ns": 1, "sha": "x"}]),
            );
            assert!(
                matches!(check(&fs, Path::new(""), Some(&s)), Clean::Corrupt(_)),
                "{bad:?}"
            );
            assert_eq!(check(&fs, Path::new(""), Some(&s)).as_json(), None);
        }
        let mut s = Sentinel::read(&fs, Path::new("")).unwrap();
        s.set("file_index", json!([{"path": "../etc/passwd"}]));
        assert_eq!(
            check(&fs, Path::new(""), Some(&s)),
            Clean::Corrupt("'..' component in path: '../etc/passwd'".into())
        );
    }
}

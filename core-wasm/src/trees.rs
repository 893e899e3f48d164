//! `trees/<commit>.json`: huggingface_hub 2.x's cached listing of a commit's files, the
//! offline reference for what a snapshot should hold (size and content id per path).
//!
//! ```json
//! {"format_version": 1, "files": {"model.safetensors": {"size": 1234, "blob_id": "<git sha1>",
//!   "lfs_sha256": "<sha256>", "lfs_size": 1234, "xet_hash": "…"}}}
//! ```
//! A file huggingface_hub would ignore (unknown version, bad JSON) is ignored here too,
//! and said so.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fs::{CacheFs, Resolved};
use crate::layout;
use crate::manifest::{self, JsonError};

/// The format this reader understands.
pub const FORMAT_VERSION: u64 = 1;

/// What one listed file should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Size in bytes of the file's content.
    pub size: u64,
    /// The id its blob is named by: the LFS sha256 when there is one, else the git sha1.
    pub id: String,
}

/// The outcome of reading a commit's tree file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// No tree file for this commit (0.x/1.x clients, single-file downloads).
    Missing,
    /// Present but unusable, with why.
    Unusable(String),
    /// The listed files, by path.
    Files(BTreeMap<String, TreeFile>),
}

/// Reads `trees/<commit>.json` of a repo.
pub fn load(fs: &CacheFs, folder: &str, commit: &str) -> Tree {
    let rel = layout::tree_path(folder, commit);
    let (real, size) = match fs.resolve(&rel) {
        Resolved::File { path, size, .. } => (path, size),
        Resolved::Dangling { .. } => return Tree::Missing,
        _ => return Tree::Unusable("not a regular file".into()),
    };
    let value = match manifest::read_json_sized(fs, &real, Some(size)) {
        Ok(v) => v,
        Err(JsonError::Invalid) => return Tree::Unusable("not valid JSON".into()),
        Err(JsonError::TooLarge(_)) => return Tree::Unusable("too large to read".into()),
        Err(JsonError::Unreadable(e)) => return Tree::Unusable(e),
    };
    parse(&value)
}

/// Interprets a parsed tree file.
pub fn parse(value: &Value) -> Tree {
    let Some(obj) = value.as_object() else {
        return Tree::Unusable("not a JSON object".into());
    };
    match obj.get("format_version").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => {}
        Some(v) => return Tree::Unusable(format!("unknown format_version {v}")),
        None => return Tree::Unusable("no format_version".into()),
    }
    let Some(files) = obj.get("files").and_then(Value::as_object) else {
        return Tree::Unusable("no files object".into());
    };
    let mut out = BTreeMap::new();
    for (path, info) in files {
        let entry = (|| {
            let lfs = info.get("lfs_sha256").and_then(Value::as_str);
            let id = lfs.or_else(|| info.get("blob_id").and_then(Value::as_str))?;
            let size = match lfs {
                Some(_) => info.get("lfs_size").or_else(|| info.get("size")),
                None => info.get("size"),
            }
            .and_then(Value::as_u64)?;
            Some(TreeFile {
                size,
                id: id.to_ascii_lowercase(),
            })
        })();
        match entry {
            Some(e) => {
                out.insert(path.clone(), e);
            }
            None => return Tree::Unusable(format!("entry `{path}` lacks a size or id")),
        }
    }
    Tree::Files(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lfs_entries_use_the_sha256() {
        let t = parse(&json!({"format_version": 1, "files": {
            "config.json": {"size": 5, "blob_id": "AB"},
            "m.safetensors": {"size": 9, "blob_id": "cd", "lfs_sha256": "ef", "lfs_size": 9},
        }}));
        let Tree::Files(files) = t else { panic!() };
        assert_eq!(
            files["config.json"],
            TreeFile {
                size: 5,
                id: "ab".into()
            }
        );
        assert_eq!(
            files["m.safetensors"],
            TreeFile {
                size: 9,
                id: "ef".into()
            }
        );
    }

    #[test]
    fn unknown_versions_and_shapes_are_unusable() {
        assert!(matches!(
            parse(&json!({"format_version": 2, "files": {}})),
            Tree::Unusable(_)
        ));
        assert!(matches!(parse(&json!([])), Tree::Unusable(_)));
        assert!(matches!(
            parse(&json!({"format_version": 1, "files": {"a": {"size": 1}}})),
            Tree::Unusable(_)
        ));
    }
}

//! What a pull fetches and where each byte lands: the Hub's tree listing turned into
//! checked [`RemoteFile`]s, and the cache layout huggingface_hub 2.x writes for them
//! (blob names, relative snapshot links, lock and temp-file names, `trees/<commit>.json`,
//! `CACHEDIR.TAG`). Pure functions: the host does the I/O and asks this module every
//! name, so a hostile server can never make it write outside a repo's own folders.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::digest::Algo;
use crate::layout;
use crate::naming;

/// The longest repo id the Hub accepts (the reference's limit, before `@`).
pub const MAX_NAME_LEN: usize = 96;

/// The content huggingface_hub puts in `CACHEDIR.TAG` (bford.info/cachedir).
pub const CACHEDIR_TAG_CONTENT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// Suffix of a download in progress. The persistent `<etag>.incomplete` naming (0.x/1.x)
/// is the one a later run can resume; huggingface_hub 2.x scans it as incomplete too.
pub const INCOMPLETE_SUFFIX: &str = ".incomplete";

/// One file of a commit, as the Hub lists it, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Path in the repo, `/`-separated, every component safe.
    pub path: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// The git oid (of the content, or of the LFS pointer).
    pub git_oid: String,
    /// The LFS sha256, when the file is in LFS.
    pub lfs_sha256: Option<String>,
    /// The Xet hash, recorded in the tree file as huggingface_hub does.
    pub xet_hash: Option<String>,
}

impl RemoteFile {
    /// The blob name (huggingface_hub's normalised ETag): the LFS sha256, else the oid.
    pub fn etag(&self) -> &str {
        self.lfs_sha256.as_deref().unwrap_or(&self.git_oid)
    }

    /// How the content is proven: sha256 for LFS files, git's blob sha1 for the others.
    pub fn algo(&self) -> Algo {
        if self.lfs_sha256.is_some() {
            Algo::Sha256
        } else {
            Algo::GitSha1
        }
    }
}

/// Why a listing or a name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    /// The listing is not what the Hub sends.
    #[error("the Hub's file listing is malformed: {0}")]
    Malformed(String),
    /// A path or id that would escape the repo's folders, or is no hash.
    #[error("the Hub listed an unsafe or invalid entry: {0}")]
    Unsafe(String),
}

/// Whether `path` may name a file inside a snapshot: relative, `/`-separated, no empty,
/// `.` or `..` component, no backslash or NUL, not too long.
pub fn is_safe_repo_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 4096
        && !path.contains(['\0', '\\'])
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= 255)
}

/// Whether `name` may be stored under `refs/` (a branch or tag, `refs/pr/1` nesting):
/// the rules of [`is_safe_repo_path`], and none of git's forbidden characters.
pub fn is_safe_ref_name(name: &str) -> bool {
    is_safe_repo_path(name)
        && !name.contains(['~', '^', ':', '?', '*', '[', ' ', '\t', '\n', '\r'])
        && !name.ends_with(".lock")
}

fn lower_hex(s: &str, len: usize) -> Option<String> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// Parses one page of `GET /api/models/{id}/tree/{commit}?recursive=true` and appends its
/// files to `out`; folder items are skipped. Every entry is checked: a safe path, a
/// 40-hex oid, a 64-hex LFS sha256, a size.
pub fn parse_tree_page(value: &Value, out: &mut Vec<RemoteFile>) -> Result<(), ListingError> {
    let items = value
        .as_array()
        .ok_or_else(|| ListingError::Malformed("not a JSON list".into()))?;
    for item in items {
        let field = |k: &str| item.get(k);
        let kind = field("type").and_then(Value::as_str).unwrap_or("file");
        if kind != "file" {
            continue;
        }
        let path = field("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ListingError::Malformed("an item without a path".into()))?;
        if !is_safe_repo_path(path) {
            return Err(ListingError::Unsafe(format!("path {path:?}")));
        }
        let oid = field("oid")
            .and_then(Value::as_str)
            .and_then(|o| lower_hex(o, 40))
            .ok_or_else(|| ListingError::Unsafe(format!("oid of {path}")))?;
        let size = field("size")
            .and_then(Value::as_u64)
            .ok_or_else(|| ListingError::Malformed(format!("size of {path}")))?;
        let lfs = match field("lfs").filter(|v| !v.is_null()) {
            None => None,
            Some(lfs) => {
                let sha = lfs
                    .get("oid")
                    .or_else(|| lfs.get("sha256"))
                    .and_then(Value::as_str)
                    .and_then(|o| lower_hex(o, 64))
                    .ok_or_else(|| ListingError::Unsafe(format!("LFS sha256 of {path}")))?;
                if let Some(lfs_size) = lfs.get("size").and_then(Value::as_u64)
                    && lfs_size != size
                {
                    return Err(ListingError::Malformed(format!(
                        "{path}: size {size} but LFS size {lfs_size}"
                    )));
                }
                Some(sha)
            }
        };
        let xet_hash = field("xetHash")
            .and_then(Value::as_str)
            .and_then(|h| lower_hex(h, 64));
        out.push(RemoteFile {
            path: path.to_owned(),
            size,
            git_oid: oid,
            lfs_sha256: lfs,
            xet_hash,
        });
    }
    Ok(())
}

/// Sorts the listing by path and refuses a path listed twice or used both as a file and
/// as a folder (`a` and `a/b`), which no real commit has and which would make one
/// download overwrite another.
pub fn finish_listing(mut files: Vec<RemoteFile>) -> Result<Vec<RemoteFile>, ListingError> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in files.windows(2) {
        let (a, b) = (&pair[0].path, &pair[1].path);
        if a == b
            || b.strip_prefix(a.as_str())
                .is_some_and(|r| r.starts_with('/'))
        {
            return Err(ListingError::Unsafe(format!("{a} listed twice")));
        }
    }
    Ok(files)
}

/// `trees/<commit>.json` exactly as huggingface_hub 2.x writes it (`json.dump(indent=1)`,
/// paths sorted), so its offline mode trusts the snapshot we wrote.
pub fn tree_json(files: &[RemoteFile]) -> Vec<u8> {
    let mut map = Map::new();
    let sorted: BTreeMap<&str, &RemoteFile> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    for (path, f) in sorted {
        let mut info = Map::new();
        info.insert("size".into(), f.size.into());
        info.insert("blob_id".into(), f.git_oid.clone().into());
        if let Some(sha) = &f.lfs_sha256 {
            info.insert("lfs_sha256".into(), sha.clone().into());
            info.insert("lfs_size".into(), f.size.into());
        }
        if let Some(x) = &f.xet_hash {
            info.insert("xet_hash".into(), x.clone().into());
        }
        map.insert(path.to_owned(), Value::Object(info));
    }
    let mut doc = Map::new();
    doc.insert("format_version".into(), crate::trees::FORMAT_VERSION.into());
    doc.insert("files".into(), Value::Object(map));
    crate::json::to_python_json_indent(&Value::Object(doc), b" ", false)
}

/// Where one file of a commit goes, relative to the cache root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// `<repo>/blobs/<etag>`
    pub blob: PathBuf,
    /// `<repo>/blobs/<etag>.incomplete`: the bytes while they arrive.
    pub incomplete: PathBuf,
    /// `<repo>/snapshots/<commit>/<path>`
    pub pointer: PathBuf,
    /// What the pointer links to: `../../blobs/<etag>`, one `../` more per folder.
    pub link_target: String,
    /// `.locks/<repo>/<etag>.lock`, the flock huggingface_hub's filelock takes.
    pub lock: PathBuf,
}

/// Where `file` of `commit` goes in the repo folder `folder`.
pub fn placement(folder: &str, commit: &str, file: &RemoteFile) -> Placement {
    let etag = file.etag();
    let depth = file.path.matches('/').count();
    Placement {
        blob: layout::blob_path(folder, etag),
        incomplete: layout::blobs_dir(folder).join(format!("{etag}{INCOMPLETE_SUFFIX}")),
        pointer: layout::snapshot_dir(folder, commit).join(&file.path),
        link_target: format!("{}blobs/{etag}", "../".repeat(depth + 2)),
        lock: layout::locks_dir(folder).join(format!("{etag}.lock")),
    }
}

/// The cache folder of a model id.
pub fn model_folder(repo_id: &str) -> String {
    naming::repo_folder(naming::RepoType::Model, repo_id)
}

/// Why a name cannot be pulled: the reference's two messages (`Invalid model name: …`),
/// then the Hub's own id rules, which keep a name from naming anything but one folder.
pub fn validate_name(spec: &str) -> Result<(), String> {
    let base = spec.split('@').next().unwrap_or_default();
    if spec.trim().is_empty() || base.trim().is_empty() {
        return Err("Invalid model name: empty".into());
    }
    if base.len() > MAX_NAME_LEN
        || base.starts_with('/')
        || base.ends_with('/')
        || base.contains("//")
    {
        return Err(format!(
            "Invalid model name: must be <= {MAX_NAME_LEN} chars and not contain leading/trailing or double slashes"
        ));
    }
    Ok(())
}

/// The Hub's repo id rule for a name that goes to the network: `name` or `org/name`, each
/// part of letters, digits, `-`, `_`, `.`, not `.`/`..`, no `--` (the folder separator).
pub fn validate_repo_id(repo_id: &str) -> Result<(), String> {
    let parts: Vec<&str> = repo_id.split('/').collect();
    let ok = parts.len() <= 2
        && !repo_id.contains("--")
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Invalid model name: '{repo_id}' is not a Hub repo id (org/name of letters, digits, '-', '_', '.')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sha(c: char) -> String {
        c.to_string().repeat(64)
    }
    fn oid(c: char) -> String {
        c.to_string().repeat(40)
    }

    #[test]
    fn lfs_files_are_named_by_sha256_and_others_by_oid() {
        let mut out = Vec::new();
        parse_tree_page(
            &json!([
                {"type": "directory", "path": "sub", "oid": oid('0'), "size": 0},
                {"type": "file", "path": "config.json", "oid": oid('A'), "size": 5},
                {"type": "file", "path": "sub/m.safetensors", "oid": oid('b'), "size": 9,
                 "lfs": {"oid": sha('c'), "size": 9, "pointerSize": 130}},
            ]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].etag(), oid('a'));
        assert_eq!(out[0].algo(), Algo::GitSha1);
        assert_eq!(out[1].etag(), sha('c'));
        assert_eq!(out[1].algo(), Algo::Sha256);
        let p = placement("models--o--n", &oid('d'), &out[1]);
        assert_eq!(p.link_target, format!("../../../blobs/{}", sha('c')));
        assert_eq!(
            p.pointer,
            PathBuf::from(format!(
                "models--o--n/snapshots/{}/sub/m.safetensors",
                oid('d')
            ))
        );
        assert_eq!(
            p.incomplete,
            PathBuf::from(format!("models--o--n/blobs/{}.incomplete", sha('c')))
        );
        assert_eq!(
            p.lock,
            PathBuf::from(format!(".locks/models--o--n/{}.lock", sha('c')))
        );
    }

    #[test]
    fn hostile_listings_are_refused() {
        for bad in [
            json!([{"path": "../x", "oid": oid('a'), "size": 1}]),
            json!([{"path": "/etc/passwd", "oid": oid('a'), "size": 1}]),
            json!([{"path": "a//b", "oid": oid('a'), "size": 1}]),
            json!([{"path": "a\\b", "oid": oid('a'), "size": 1}]),
            json!([{"path": "x", "oid": "../../blobs/y", "size": 1}]),
            json!([{"path": "x", "oid": oid('a'), "size": 1, "lfs": {"oid": "zz"}}]),
        ] {
            assert!(matches!(
                parse_tree_page(&bad, &mut Vec::new()),
                Err(ListingError::Unsafe(_))
            ));
        }
        assert!(parse_tree_page(&json!({}), &mut Vec::new()).is_err());
        let twice = vec![
            RemoteFile {
                path: "a".into(),
                size: 1,
                git_oid: oid('a'),
                lfs_sha256: None,
                xet_hash: None,
            },
            RemoteFile {
                path: "a/b".into(),
                size: 1,
                git_oid: oid('b'),
                lfs_sha256: None,
                xet_hash: None,
            },
        ];
        assert!(finish_listing(twice).is_err());
    }

    #[test]
    fn tree_file_reads_back() {
        let files = vec![RemoteFile {
            path: "m.safetensors".into(),
            size: 9,
            git_oid: oid('b'),
            lfs_sha256: Some(sha('c')),
            xet_hash: None,
        }];
        let bytes = tree_json(&files);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(
            "{\n \"format_version\": 1,\n \"files\": {\n  \"m.safetensors\": {\n   \"size\": 9,"
        ));
        let crate::trees::Tree::Files(read) =
            crate::trees::parse(&serde_json::from_slice(&bytes).unwrap())
        else {
            panic!("unreadable tree file")
        };
        assert_eq!(read["m.safetensors"].id, sha('c'));
    }

    #[test]
    fn names_follow_the_reference_then_the_hub() {
        assert_eq!(validate_name(" ").unwrap_err(), "Invalid model name: empty");
        assert_eq!(
            validate_name("@main").unwrap_err(),
            "Invalid model name: empty"
        );
        for bad in ["org//x", "/org/x", "org/x/", &"a".repeat(97)] {
            assert!(validate_name(bad).unwrap_err().contains("<= 96 chars"));
        }
        assert!(validate_name("org/x@main").is_ok());
        for bad in ["../etc", "a/b/c", "a--b/c", "org/x y", "org/.."] {
            assert!(validate_repo_id(bad).is_err(), "{bad}");
        }
        assert!(validate_repo_id("mlx-community/Phi-3.5_x").is_ok());
        assert!(validate_repo_id("gpt2").is_ok());
        assert!(is_safe_ref_name("refs/pr/1"));
        assert!(!is_safe_ref_name("../main"));
        assert!(!is_safe_ref_name("a b"));
    }
}

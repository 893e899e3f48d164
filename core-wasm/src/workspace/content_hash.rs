//! MLX-Knife 2.0.8's workspace content hash, algorithm "v2" (workspaces-reference §1.4),
//! byte for byte: a per-file index (safetensors by their JSON header only, files over
//! 1 GiB by name and size, links by where they point inside the workspace), sorted by
//! NFC path, folded into one sha256.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::exclude::Excludes;
use crate::fs::{CacheFs, Kind, Resolved};

/// Files larger than this are fingerprinted by name and size, not read.
pub const WHOLE_FILE_LIMIT: u64 = 1 << 30;
/// A safetensors header longer than this is corrupt.
pub const MAX_SAFETENSORS_HEADER: u64 = 100 << 20;
/// The algorithm name written to the sentinel.
pub const ALGORITHM: &str = "v2";
/// Folders nested deeper than this are not walked (and fail the hash).
const MAX_DEPTH: usize = 64;

/// One hashed entry, as the sentinel's `file_index` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Relative, `/`-separated, each component NFC.
    pub path: String,
    /// `st_size` (0 for links).
    pub size: u64,
    /// mtime in nanoseconds since the epoch (0 for links).
    pub mtime_ns: u128,
    /// `sha256:<hex>` by the entry's class.
    pub sha: String,
}

impl IndexEntry {
    /// The entry as the sentinel's `file_index` stores it (2.0.8's key order).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "size": self.size,
            "mtime_ns": u64::try_from(self.mtime_ns).unwrap_or(u64::MAX),
            "sha": self.sha,
        })
    }
}

/// Why no hash can be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The folder has no `config.json`.
    #[error("No config.json found in workspace")]
    NoConfig,
    /// A `.safetensors` file whose header cannot be read.
    #[error("Corrupt safetensors header in {0}; aborting v2 hash")]
    CorruptSafetensors(String),
    /// A link that leads out of the workspace (or nowhere that can be named).
    #[error("Symlink outside workspace root refused: {path} -> {target}")]
    SymlinkOutside {
        /// The link, relative to the workspace.
        path: String,
        /// Its text.
        target: String,
    },
    /// A name that is not UTF-8 (2.0.8 crashes here; this is an error instead).
    #[error("A file name in {0} is not valid UTF-8")]
    NotUtf8(String),
    /// Folders nested too deep.
    #[error("Folders nested too deep at {0}")]
    TooDeep(String),
    /// A read failed.
    #[error("Cannot read {path}: {message}")]
    Io {
        /// Relative path.
        path: String,
        /// The OS error.
        message: String,
    },
}

/// `sha256:` + hex of `bytes`.
pub fn sha256_tag(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The fingerprint of a link that points at `target` (relative to the workspace).
pub fn symlink_sha(target: &str) -> String {
    let mut bytes = b"SYMLINK\0".to_vec();
    bytes.extend_from_slice(target.as_bytes());
    sha256_tag(&bytes)
}

/// The fingerprint of a file over [`WHOLE_FILE_LIMIT`]: its base name and size.
pub fn large_file_sha(name: &str, size: u64) -> String {
    sha256_tag(format!("{name}\0{size}").as_bytes())
}

/// The aggregate over an index (sorted here by path, as code points).
pub fn aggregate(entries: &[IndexEntry]) -> String {
    let mut sorted: Vec<&IndexEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for e in sorted {
        h.update(e.path.as_bytes());
        h.update([0u8]);
        h.update(e.sha.as_bytes());
    }
    format!("sha256:{}", hex(&h.finalize()))
}

/// A workspace's hash and the index it was computed from (sorted by path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHash {
    /// `sha256:<hex>`.
    pub content_hash: String,
    /// The entries, sorted by path.
    pub file_index: Vec<IndexEntry>,
}

/// What the walk found, before any byte is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The index path (NFC, `/`-separated).
    pub path: String,
    /// Where it is, relative to the root of the file access (`base` + `path`, as stored).
    pub rel: PathBuf,
    /// The workspace folder it belongs to.
    pub base: PathBuf,
    /// Its base name as stored on disk.
    pub name: String,
    /// A link (fingerprinted by target), or a file with its size and mtime.
    pub kind: CandidateKind,
}

/// A walked entry's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A symlink (recorded with size and mtime 0).
    Link,
    /// A regular file.
    File {
        /// `st_size`.
        size: u64,
        /// mtime in nanoseconds.
        mtime_ns: u128,
    },
}

impl Candidate {
    /// `(size, mtime_ns)` as the index stores them.
    pub fn stat(&self) -> (u64, u128) {
        match self.kind {
            CandidateKind::Link => (0, 0),
            CandidateKind::File { size, mtime_ns } => (size, mtime_ns),
        }
    }

    /// The entry's `sha` by its class (reads the file, or its safetensors header).
    pub fn sha(&self, fs: &CacheFs) -> Result<String, HashError> {
        match self.kind {
            CandidateKind::Link => link_sha(fs, &self.base, &self.rel, &self.path),
            CandidateKind::File { size, .. } => {
                file_sha(fs, &self.rel, &self.name, &self.path, size)
            }
        }
    }

    /// The index entry (hashing it).
    pub fn entry(&self, fs: &CacheFs) -> Result<IndexEntry, HashError> {
        let (size, mtime_ns) = self.stat();
        Ok(IndexEntry {
            sha: self.sha(fs)?,
            path: self.path.clone(),
            size,
            mtime_ns,
        })
    }
}

/// Computes the v2 hash of the workspace at `base` (a folder of `fs`, `""` for its root),
/// leaving out `excludes`.
pub fn compute(fs: &CacheFs, base: &Path, excludes: &Excludes) -> Result<ContentHash, HashError> {
    let mut index = candidates(fs, base, excludes)?
        .iter()
        .map(|c| c.entry(fs))
        .collect::<Result<Vec<_>, _>>()?;
    index.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ContentHash {
        content_hash: aggregate(&index),
        file_index: index,
    })
}

/// The entries the hash of the workspace at `base` covers, sorted by path; nothing is read
/// but folders and stats.
pub fn candidates(
    fs: &CacheFs,
    base: &Path,
    excludes: &Excludes,
) -> Result<Vec<Candidate>, HashError> {
    if fs.lstat(&base.join("config.json")).is_err() {
        return Err(HashError::NoConfig);
    }
    let mut out = Vec::new();
    walk(fs, base, excludes, base, "", 0, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(
    fs: &CacheFs,
    base: &Path,
    excludes: &Excludes,
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Candidate>,
) -> Result<(), HashError> {
    if depth > MAX_DEPTH {
        return Err(HashError::TooDeep(prefix.to_owned()));
    }
    let entries = match fs.read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(HashError::NotUtf8(display(prefix)));
        }
        // 2.0.8 skips a folder it cannot list.
        Err(_) => return Ok(()),
    };
    for (name, kind) in entries {
        let rel = dir.join(&name);
        let nfc: String = name.nfc().collect();
        let path = if prefix.is_empty() {
            nfc
        } else {
            format!("{prefix}/{nfc}")
        };
        let kind = match kind {
            // Links are recorded whatever the patterns say, and never descended.
            Kind::Symlink => CandidateKind::Link,
            Kind::Dir if excludes.skips_dir(&name) => continue,
            Kind::Dir => {
                walk(fs, base, excludes, &rel, &path, depth + 1, out)?;
                continue;
            }
            Kind::File if excludes.skips_file(&name) => continue,
            Kind::File => {
                let st = fs.lstat(&rel).map_err(|e| io_error(&path, &e))?;
                let mtime_ns = st
                    .modified
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                CandidateKind::File {
                    size: st.size,
                    mtime_ns,
                }
            }
            Kind::Other => continue,
        };
        out.push(Candidate {
            path,
            rel,
            base: base.to_path_buf(),
            name,
            kind,
        });
    }
    Ok(())
}

fn display(prefix: &str) -> String {
    if prefix.is_empty() {
        ".".into()
    } else {
        prefix.to_owned()
    }
}

/// Where a link points, relative to the workspace at `base`, followed as far as it goes
/// inside it.
fn link_sha(fs: &CacheFs, base: &Path, rel: &Path, path: &str) -> Result<String, HashError> {
    let target: Option<PathBuf> = match fs.follow_link(rel) {
        Resolved::File { path, .. } => Some(path),
        Resolved::Escapes { .. } => None,
        // A folder, a dangling or looping link: where its text points, if inside.
        _ => fs.link_target(rel),
    };
    let target = target.and_then(|t| t.strip_prefix(base).ok().map(Path::to_path_buf));
    match target {
        Some(t) => Ok(symlink_sha(&slash_path(&t))),
        None => Err(HashError::SymlinkOutside {
            path: path.to_owned(),
            target: fs
                .link_text(rel)
                .unwrap_or_else(|| "<outside the workspace>".into()),
        }),
    }
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().nfc().collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

fn io_error(path: &str, e: &std::io::Error) -> HashError {
    HashError::Io {
        path: path.to_owned(),
        message: crate::fs::describe(e),
    }
}

fn file_sha(
    fs: &CacheFs,
    rel: &Path,
    name: &str,
    path: &str,
    size: u64,
) -> Result<String, HashError> {
    if name.ends_with(".safetensors") {
        return safetensors_sha(fs, rel, size)
            .ok_or_else(|| HashError::CorruptSafetensors(path.to_owned()));
    }
    if size > WHOLE_FILE_LIMIT {
        return Ok(large_file_sha(name, size));
    }
    let mut file = fs.open_file(rel).map_err(|e| io_error(path, &e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, &e)),
        }
    }
    Ok(format!("sha256:{}", hex(&h.finalize())))
}

/// sha256 of the JSON header (the 8-byte length prefix excluded); `None` when corrupt:
/// shorter than 8 bytes, a length of 0 or over 100 MiB, or fewer header bytes than it says.
fn safetensors_sha(fs: &CacheFs, rel: &Path, size: u64) -> Option<String> {
    let head = fs.read_prefix_sized(rel, 8, Some(size)).ok()?;
    let len = u64::from_le_bytes(head.get(..8)?.try_into().ok()?);
    if len == 0 || len > MAX_SAFETENSORS_HEADER {
        return None;
    }
    let want = usize::try_from(len).ok()? + 8;
    let bytes = fs.read_prefix_sized(rel, want, Some(size)).ok()?;
    (bytes.len() == want).then(|| sha256_tag(&bytes[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, sha: &str) -> IndexEntry {
        IndexEntry {
            path: path.into(),
            size: 0,
            mtime_ns: 0,
            sha: sha.into(),
        }
    }

    /// workspaces-reference §1.4.5: the index of 2.0.8's clone of the fixture's tiny model.
    #[test]
    fn the_reference_test_vector() {
        let index = [
            (
                ".gitattributes",
                "0f39c44f09e114c3ee5a1faaad50531dea4b308df6c083e24e3414d03f802743",
            ),
            (
                "README.md",
                "598c20700db6248a183a269723a3950f91fb819514d34df4a056ba1046cb5edf",
            ),
            (
                "config.json",
                "3cec72898c2d6daa443895dc0150f05f073593f8c8ace1e8e0279a0e3d2cb484",
            ),
            (
                "generation_config.json",
                "42b4d04f745b4fdaf99265073b8a51ac10a1d18e35d5c0765760505a39185ac1",
            ),
            (
                "model.safetensors",
                "78982ae42eb329ab741915348b173581ff873e4bc2bdcfcda65543639081fb8f",
            ),
            (
                "model.safetensors.index.json",
                "176bf6c0343add5f45b73926408b1c4e319076fddd91ed7119d74eb5a9f7ec6e",
            ),
            (
                "special_tokens_map.json",
                "574234d4a3b1aa01f31e241a60020e28a915a91367483f0d97a063d12acdc5da",
            ),
            (
                "tokenizer.json",
                "9da3bd0d07bd62a9cfd063e4122e8e2f8d5123d31602e88c739a04709de061e7",
            ),
            (
                "tokenizer_config.json",
                "9d904683294f11cb47ff057910ce54ea2abe40cf5fe0ee59e7517f70e651e91c",
            ),
        ];
        // Any input order: the aggregate sorts.
        let mut entries: Vec<IndexEntry> = index
            .iter()
            .rev()
            .map(|(p, h)| entry(p, &format!("sha256:{h}")))
            .collect();
        assert_eq!(
            aggregate(&entries),
            "sha256:d514463d5cfbb34e9b596a6c66878ac06b3b2e9094d9f14bdd87be5c32cd62a9"
        );
        entries[0].sha = sha256_tag(b"changed");
        assert_ne!(
            aggregate(&entries),
            "sha256:d514463d5cfbb34e9b596a6c66878ac06b3b2e9094d9f14bdd87be5c32cd62a9"
        );
    }

    #[test]
    fn the_reference_fingerprints() {
        assert_eq!(
            sha256_tag(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            symlink_sha("config.json"),
            "sha256:6fdf56729a1440ccd60c08c39b1267b6d5635da579a58bfeaddfcf7cf4e12106"
        );
        assert!(symlink_sha("README.md").starts_with("sha256:e96e6f24"));
        assert!(large_file_sha("big.bin", 1_153_433_600).starts_with("sha256:b526da7c"));
    }

    #[test]
    fn paths_sort_as_code_points() {
        let mut e = [
            entry("config.json", "x"),
            entry("a/b", "x"),
            entry("a.txt", "x"),
            entry("README.md", "x"),
        ];
        e.sort_by(|a, b| a.path.cmp(&b.path));
        let order: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(order, ["README.md", "a.txt", "a/b", "config.json"]);
    }

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), br#"{"model_type":"llama"}"#).unwrap();
        dir
    }

    fn safetensors(header: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header);
        out.extend_from_slice(data);
        out
    }

    fn hash_of(dir: &Path) -> Result<ContentHash, HashError> {
        compute(&CacheFs::new(dir), Path::new(""), &Excludes::default_list())
    }

    #[test]
    fn files_by_class_links_and_excludes() {
        let ws = workspace();
        let d = ws.path();
        let header = br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        std::fs::write(
            d.join("model.safetensors"),
            safetensors(header, &[0, 0, 128, 63]),
        )
        .unwrap();
        std::fs::create_dir_all(d.join("sub/node_modules")).unwrap();
        std::fs::write(d.join("sub/node_modules/x.js"), "x").unwrap();
        std::fs::write(d.join("sub/keep.bak"), "x").unwrap();
        std::fs::write(d.join("sub/data.txt"), "data").unwrap();
        std::fs::write(d.join("run.log"), "x").unwrap();
        std::fs::write(d.join(".mlxk_workspace.json"), "{}").unwrap();
        std::os::unix::fs::symlink("config.json", d.join("cfglink.json")).unwrap();
        // An excluded name is still recorded when it is a link.
        std::os::unix::fs::symlink("../config.json", d.join("sub/x.lock")).unwrap();
        let h = hash_of(d).unwrap();
        let paths: Vec<&str> = h.file_index.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "cfglink.json",
                "config.json",
                "model.safetensors",
                "sub/data.txt",
                "sub/x.lock"
            ]
        );
        let by = |p: &str| h.file_index.iter().find(|e| e.path == p).unwrap();
        assert_eq!(
            by("model.safetensors").sha,
            sha256_tag(header),
            "header only"
        );
        assert_eq!(by("sub/data.txt").sha, sha256_tag(b"data"));
        assert_eq!(by("cfglink.json").sha, symlink_sha("config.json"));
        assert_eq!(by("sub/x.lock").sha, symlink_sha("config.json"));
        assert_eq!(
            (by("cfglink.json").size, by("cfglink.json").mtime_ns),
            (0, 0)
        );
        assert!(by("config.json").mtime_ns > 0);
        assert_eq!(h.content_hash, aggregate(&h.file_index));

        // Tensor bytes are not hashed: changing them (same size) keeps the hash.
        std::fs::write(
            d.join("model.safetensors"),
            safetensors(header, &[1, 2, 3, 4]),
        )
        .unwrap();
        assert_eq!(hash_of(d).unwrap().content_hash, h.content_hash);
        // Excluded files change nothing either; other files do.
        std::fs::write(d.join("run.log"), "more").unwrap();
        assert_eq!(hash_of(d).unwrap().content_hash, h.content_hash);
        std::fs::write(d.join("sub/data.txt"), "DATA").unwrap();
        assert_ne!(hash_of(d).unwrap().content_hash, h.content_hash);
    }

    #[test]
    fn names_are_nfc() {
        let ws = workspace();
        std::fs::write(ws.path().join("cafe\u{301}.txt"), "x").unwrap();
        let h = hash_of(ws.path()).unwrap();
        assert!(
            h.file_index.iter().any(|e| e.path == "caf\u{e9}.txt"),
            "{:?}",
            h.file_index
        );
    }

    #[test]
    fn failures_give_no_hash() {
        let ws = tempfile::tempdir().unwrap();
        assert_eq!(hash_of(ws.path()), Err(HashError::NoConfig));
        let ws = workspace();
        for (i, bad) in [
            b"abc".to_vec(),
            0u64.to_le_bytes().to_vec(),
            ((100u64 << 20) + 1).to_le_bytes().to_vec(),
            safetensors(b"{}", b"")[..9].to_vec(),
            (1u64 << 63).to_le_bytes().to_vec(),
        ]
        .into_iter()
        .enumerate()
        {
            let name = format!("m{i}.safetensors");
            std::fs::write(ws.path().join(&name), bad).unwrap();
            assert_eq!(
                hash_of(ws.path()),
                Err(HashError::CorruptSafetensors(name.clone()))
            );
            std::fs::remove_file(ws.path().join(&name)).unwrap();
        }
        std::os::unix::fs::symlink("/etc/hostname", ws.path().join("outside")).unwrap();
        assert_eq!(
            hash_of(ws.path()).unwrap_err().to_string(),
            "Symlink outside workspace root refused: outside -> /etc/hostname"
        );
        std::fs::remove_file(ws.path().join("outside")).unwrap();
        std::os::unix::fs::symlink("../../x", ws.path().join("up")).unwrap();
        assert!(matches!(
            hash_of(ws.path()),
            Err(HashError::SymlinkOutside { .. })
        ));
    }

    #[test]
    fn a_file_over_one_gib_is_fingerprinted_by_name_and_size() {
        let ws = workspace();
        let f = std::fs::File::create(ws.path().join("big.bin")).unwrap();
        f.set_len(1_153_433_600).unwrap(); // sparse: nothing is read
        let h = hash_of(ws.path()).unwrap();
        let e = h.file_index.iter().find(|e| e.path == "big.bin").unwrap();
        assert_eq!(e.sha, large_file_sha("big.bin", 1_153_433_600));
        assert!(e.sha.starts_with("sha256:b526da7c"));
    }

    #[test]
    fn a_name_that_is_not_utf8_is_an_error() {
        use std::os::unix::ffi::OsStrExt;
        let ws = workspace();
        std::fs::write(ws.path().join(std::ffi::OsStr::from_bytes(b"bad\xff")), "x").unwrap();
        assert!(matches!(
            hash_of(ws.path()),
            Err(HashError::NotUtf8(_)) | Err(HashError::Io { .. })
        ));
    }
}

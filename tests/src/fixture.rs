//! `CacheFixture`: writes real Hugging Face caches into a temp dir, as huggingface_hub
//! does: blobs named by sha256 (LFS files) or git blob sha1 (regular files), relative
//! snapshot links (`../../blobs/<etag>`, one more `../` per sub-folder), refs without a
//! trailing newline, and lock files under `.locks/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// A temporary hub cache (`<tmp>/hub`).
#[derive(Debug)]
pub struct CacheFixture {
    dir: tempfile::TempDir,
    hub: PathBuf,
}

impl Default for CacheFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// The time fixtures are dated at, so human ages print as a fixed date.
pub const FIXED_MTIME: u64 = 1_700_000_000;

impl CacheFixture {
    /// An empty cache with a `CACHEDIR.TAG`, as huggingface_hub 2.x leaves it.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = dir.path().join("hub");
        fs::create_dir_all(&hub).unwrap();
        fs::write(
            hub.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n",
        )
        .unwrap();
        Self { dir, hub }
    }

    /// The hub cache directory.
    pub fn path(&self) -> &Path {
        &self.hub
    }

    /// The temp dir holding the cache (a place outside the cache, for escape tests).
    pub fn outside(&self) -> &Path {
        self.dir.path()
    }

    /// A model repo (`org/name`).
    pub fn model(&self, repo_id: &str) -> Repo {
        self.repo("models", repo_id)
    }

    /// A repo of any type prefix (`models`, `datasets`, `spaces`).
    pub fn repo(&self, type_prefix: &str, repo_id: &str) -> Repo {
        let folder = format!("{type_prefix}--{}", repo_id.replace('/', "--"));
        let dir = self.hub.join(&folder);
        fs::create_dir_all(&dir).unwrap();
        Repo {
            hub: self.hub.clone(),
            folder,
            dir,
        }
    }

    /// Sets every mtime under the cache to [`FIXED_MTIME`] (files, links' targets, folders).
    pub fn freeze_mtimes(&self) -> &Self {
        set_tree_mtime(&self.hub, FIXED_MTIME);
        self
    }
}

/// A repo folder in a fixture.
#[derive(Debug, Clone)]
pub struct Repo {
    hub: PathBuf,
    folder: String,
    dir: PathBuf,
}

impl Repo {
    /// The repo folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The folder name (`models--org--name`).
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// A snapshot folder named `revision` (created empty).
    pub fn snapshot(&self, revision: &str) -> Snapshot {
        let dir = self.dir.join("snapshots").join(revision);
        fs::create_dir_all(&dir).unwrap();
        Snapshot {
            repo: self.clone(),
            dir,
        }
    }

    /// Writes `refs/<name>` = `commit`, without a newline.
    pub fn git_ref(&self, name: &str, commit: &str) -> &Self {
        let path = self.dir.join("refs").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, commit).unwrap();
        self
    }

    /// Writes a blob into `blobs/` under `name` (e.g. an `.incomplete` download).
    pub fn raw_blob(&self, name: &str, bytes: &[u8]) -> &Self {
        let dir = self.dir.join("blobs");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
        self
    }

    /// Creates an (empty) `.locks/<repo>/<name>` file.
    pub fn lock(&self, name: &str) -> &Self {
        let dir = self.hub.join(".locks").join(&self.folder);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), b"").unwrap();
        self
    }
}

/// A snapshot folder in a fixture.
#[derive(Debug, Clone)]
pub struct Snapshot {
    repo: Repo,
    dir: PathBuf,
}

/// The etag huggingface_hub names a blob by: sha256 for LFS files, git blob sha1 otherwise.
pub fn etag(path: &str, bytes: &[u8]) -> String {
    if is_lfs(path) {
        hex(&Sha256::digest(bytes))
    } else {
        git_blob_sha1(bytes)
    }
}

fn is_lfs(path: &str) -> bool {
    [".safetensors", ".bin", ".gguf", ".pt", ".h5"]
        .iter()
        .any(|s| path.ends_with(s))
}

/// `sha1("blob <len>\0" + bytes)`, git's object id.
pub fn git_blob_sha1(bytes: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.digest().to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Snapshot {
    /// The snapshot folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Adds a file the way huggingface_hub does: the bytes in `blobs/<etag>`, and a
    /// relative link at `path` inside the snapshot.
    pub fn file(&self, path: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let bytes = bytes.as_ref();
        let tag = etag(path, bytes);
        let blobs = self.repo.dir.join("blobs");
        fs::create_dir_all(&blobs).unwrap();
        fs::write(blobs.join(&tag), bytes).unwrap();
        let depth = path.matches('/').count();
        let target = format!("{}blobs/{tag}", "../".repeat(depth + 2));
        self.link(path, &target)
    }

    /// Adds a plain file (the no-symlink layout, or hand-made caches).
    pub fn plain_file(&self, path: &str, bytes: impl AsRef<[u8]>) -> &Self {
        let full = self.dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, bytes).unwrap();
        self
    }

    /// Adds a symlink at `path` with exactly `target` as its text.
    pub fn link(&self, path: &str, target: &str) -> &Self {
        let full = self.dir.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&full);
        std::os::unix::fs::symlink(target, &full).unwrap();
        self
    }

    /// Writes `trees/<revision>.json` as huggingface_hub 2.x does, listing every file
    /// now in the snapshot with its size and id (`lfs_sha256` for sha256-named blobs).
    pub fn tree(&self) -> &Self {
        let mut files = serde_json::Map::new();
        self.collect_tree(&self.dir, "", &mut files);
        let revision = self.dir.file_name().unwrap().to_string_lossy().into_owned();
        let dir = self.repo.dir.join("trees");
        fs::create_dir_all(&dir).unwrap();
        let doc = serde_json::json!({"format_version": 1, "files": files});
        fs::write(dir.join(format!("{revision}.json")), doc.to_string()).unwrap();
        self
    }

    fn collect_tree(
        &self,
        dir: &Path,
        prefix: &str,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                self.collect_tree(&e.path(), &rel, out);
                continue;
            }
            let (id, bytes) = if ft.is_symlink() {
                let target = fs::read_link(e.path()).unwrap();
                let id = target.file_name().unwrap().to_string_lossy().into_owned();
                (id, fs::read(e.path()).unwrap())
            } else {
                let bytes = fs::read(e.path()).unwrap();
                (etag(&rel, &bytes), bytes)
            };
            let size = bytes.len();
            let entry = if id.len() == 64 {
                serde_json::json!({"size": size, "blob_id": git_blob_sha1(&bytes), "lfs_sha256": id, "lfs_size": size})
            } else {
                serde_json::json!({"size": size, "blob_id": id})
            };
            out.insert(rel, entry);
        }
    }

    /// Sets the snapshot folder's own mtime.
    pub fn mtime(&self, secs: u64) -> &Self {
        set_mtime(&self.dir, secs);
        self
    }
}

/// A minimal valid safetensors file: 8-byte little-endian header length, a JSON header
/// describing one F32 tensor of `n` values, then the data.
pub fn safetensors(n: usize) -> Vec<u8> {
    let header = format!(
        r#"{{"weight":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}},"__metadata__":{{"format":"pt"}}}}"#,
        n * 4
    );
    let mut header = header.into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend((0..n).flat_map(|i| (i as f32).to_le_bytes()));
    out
}

fn set_mtime(path: &Path, secs: u64) {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    if let Ok(f) = fs::File::open(path) {
        let _ = f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t));
    }
}

/// Sets every mtime under `dir` (files, folders; links are not followed) to `secs`.
pub fn set_tree_mtime(dir: &Path, secs: u64) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            set_tree_mtime(&p, secs);
        }
        if !ft.is_symlink() {
            set_mtime(&p, secs);
        }
    }
    set_mtime(dir, secs);
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `cp -a from to`: a copy that keeps links as links, modes and mtimes (a cache or a
/// workspace as it is on disk).
pub fn copy_tree(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

//! Writing into the cache for `pull`, only through a cap-std handle rooted at the cache:
//! no path the Hub or the cache supplies can reach outside it (`..`, absolute paths and
//! links out are refused by the handle). Names come from `core_wasm::fetch`/`layout`.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use core_wasm::error::CoreError;
use core_wasm::fetch;
use core_wasm::layout;

/// The cache, open for writing.
pub struct CacheWriter {
    root: Dir,
    path: PathBuf,
}

impl std::fmt::Debug for CacheWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheWriter")
            .field("path", &self.path)
            .finish()
    }
}

/// An I/O failure on a cache path, as the envelope reports it.
pub fn io_error(rel: &Path, e: &io::Error) -> CoreError {
    let what = rel.display();
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            CoreError::PullFailed(format!("Permission denied writing {what}"))
        }
        io::ErrorKind::StorageFull => {
            CoreError::PullFailed(format!("No space left writing {what}"))
        }
        _ => CoreError::PullFailed(format!("Cannot write {what}: {e}")),
    }
}

/// A held download lock; released when dropped (the file stays, as huggingface_hub's do).
#[derive(Debug)]
pub struct LockGuard(File);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl CacheWriter {
    /// Opens the cache at `path`, creating it (and its parents) first if it is missing,
    /// as huggingface_hub does on a first download.
    pub fn open_or_create(path: &Path) -> Result<Self, CoreError> {
        std::fs::create_dir_all(path).map_err(|e| io_error(path, &e))?;
        let root =
            Dir::open_ambient_dir(path, ambient_authority()).map_err(|e| io_error(path, &e))?;
        Ok(Self {
            root,
            path: path.to_path_buf(),
        })
    }

    /// The cache's own path (for the success message).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `rel` and its parents.
    pub fn mkdirs(&self, rel: &Path) -> Result<(), CoreError> {
        self.root.create_dir_all(rel).map_err(|e| io_error(rel, &e))
    }

    /// Writes `CACHEDIR.TAG` unless it exists.
    pub fn ensure_tag(&self) -> Result<(), CoreError> {
        let rel = Path::new(layout::CACHEDIR_TAG);
        if self.root.symlink_metadata(rel).is_ok() {
            return Ok(());
        }
        self.write_atomic(rel, fetch::CACHEDIR_TAG_CONTENT.as_bytes())
    }

    /// Replaces `rel` with `bytes` atomically (a temp file beside it, then a rename), so
    /// a reader sees the old content or the new, never half of one. A file at the cache
    /// root gets its temp file in `.locks/` instead: a stray file at the root (a kill
    /// between the two steps) is what huggingface_hub's scanner reports as a broken repo.
    pub fn write_atomic(&self, rel: &Path, bytes: &[u8]) -> Result<(), CoreError> {
        let tmp_dir = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from(layout::LOCKS_DIR),
        };
        self.mkdirs(&tmp_dir)?;
        if let Some(parent) = rel.parent() {
            self.mkdirs(parent)?;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tmp_dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut f = self.root.create(&tmp)?;
            f.write_all(bytes)?;
            self.root.rename(&tmp, &self.root, rel)
        })();
        result.map_err(|e| {
            let _ = self.root.remove_file(&tmp);
            io_error(rel, &e)
        })
    }

    /// The content of a small regular file, if there is one.
    pub fn read_small(&self, rel: &Path) -> Option<Vec<u8>> {
        let meta = self.root.symlink_metadata(rel).ok()?;
        (meta.is_file() && meta.len() <= 1 << 20)
            .then(|| self.root.read(rel).ok())
            .flatten()
    }

    /// Writes `refs/<name>` = `commit` (no newline), unless it already says so.
    pub fn write_ref(&self, rel: &Path, commit: &str) -> Result<(), CoreError> {
        if self.read_small(rel).as_deref() == Some(commit.as_bytes()) {
            return Ok(());
        }
        self.write_atomic(rel, commit.as_bytes())
    }

    /// Takes the flock huggingface_hub's `filelock` takes on the same file, waiting up to
    /// `timeout` for another process to let go.
    pub fn lock(&self, rel: &Path, timeout: Duration) -> Result<LockGuard, CoreError> {
        if let Some(parent) = rel.parent() {
            self.mkdirs(parent)?;
        }
        let mut opts = OpenOptions::new();
        opts.read(true)
            .write(true)
            .create(true)
            .follow(FollowSymlinks::No);
        let file = self
            .root
            .open_with(rel, &opts)
            .map_err(|e| io_error(rel, &e))?
            .into_std();
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockGuard(file)),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(CoreError::LockTimeout {
                        lock: rel.display().to_string(),
                        secs: timeout.as_secs(),
                    });
                }
                // No flock here (some network file systems): go on unlocked, as
                // huggingface_hub's soft fallback would not protect us either.
                Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                    return Ok(LockGuard(file));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io_error(rel, &e)),
            }
        }
    }

    /// The size of the regular file at `rel`, if there is one. Links are followed as long
    /// as they stay inside the cache (a repo blob that links into the shared Xet store
    /// counts as present); cap-std refuses any that leave it.
    pub fn file_len(&self, rel: &Path) -> Option<u64> {
        let meta = self.root.metadata(rel).ok()?;
        meta.is_file().then(|| meta.len())
    }

    /// Opens a regular file for reading, following links only inside the cache.
    pub fn open_read(&self, rel: &Path) -> io::Result<File> {
        let mut opts = OpenOptions::new();
        opts.read(true);
        Ok(self.root.open_with(rel, &opts)?.into_std())
    }

    /// Opens (creating) a temp download for appending and reading, never through a link.
    pub fn open_partial(&self, rel: &Path) -> Result<File, CoreError> {
        let mut opts = OpenOptions::new();
        opts.read(true)
            .write(true)
            .create(true)
            .follow(FollowSymlinks::No);
        self.root
            .open_with(rel, &opts)
            .map(cap_std::fs::File::into_std)
            .map_err(|e| io_error(rel, &e))
    }

    /// Renames within the cache (atomic on one file system).
    pub fn rename(&self, from: &Path, to: &Path) -> Result<(), CoreError> {
        self.root
            .rename(from, &self.root, to)
            .map_err(|e| io_error(to, &e))
    }

    /// Removes a file or link if present.
    pub fn remove(&self, rel: &Path) -> Result<(), CoreError> {
        match self.root.remove_file(rel) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(rel, &e)),
        }
    }

    /// What the link at `rel` points to, if it is a link.
    pub fn link_target(&self, rel: &Path) -> Option<PathBuf> {
        self.root.read_link_contents(rel).ok()
    }

    /// Makes `rel` a relative link to `target`, replacing whatever entry was there.
    pub fn link(&self, target: &str, rel: &Path) -> Result<(), CoreError> {
        if let Some(parent) = rel.parent() {
            self.mkdirs(parent)?;
        }
        if let Ok(meta) = self.root.symlink_metadata(rel) {
            if meta.is_dir() {
                return Err(CoreError::PullFailed(format!(
                    "{} is a folder where a file belongs",
                    rel.display()
                )));
            }
            self.remove(rel)?;
        }
        // cap-std's `symlink` refuses a target that would resolve outside the cache.
        self.root
            .symlink(target, rel)
            .map_err(|e| io_error(rel, &e))
    }
}

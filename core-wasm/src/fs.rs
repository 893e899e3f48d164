//! Sandbox-safe file access under the cache root: links are followed by us, lexically.
//!
//! The operating system never follows a symlink on our behalf. A link's target is read
//! with `read_link`, joined to the link's folder and normalised without touching the disk;
//! a target that is absolute or climbs above the root is reported as escaping, never
//! opened. This holds natively (tests, the host's rlib) exactly as it does in the WASI
//! sandbox, where wasmtime and Node refuse such paths anyway (EPERM / ENOTCAPABLE), and it
//! means no `canonicalize` is ever needed. Folders on a resolved path are checked once to
//! be real folders, so a symlinked `blobs/` cannot smuggle a path out either.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

/// How many links one path may chain through (huggingface_hub's Xet store needs two).
pub const MAX_LINK_HOPS: usize = 8;

/// What a cache path turns out to be once its links are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file at `path` (cache-relative, link-free) of `size` bytes.
    File {
        /// The real location, relative to the cache root.
        path: PathBuf,
        /// `st_size`.
        size: u64,
        /// mtime, when the platform reports one.
        modified: Option<SystemTime>,
    },
    /// A folder (a link to a folder is not descended into).
    Dir,
    /// Something else: a socket, a fifo, a device.
    Special,
    /// A link whose target does not exist.
    Dangling {
        /// The link text as stored.
        target: String,
    },
    /// A link that points outside the cache (absolute, or `..` past the root).
    Escapes {
        /// The link text as stored (may be empty if the sandbox refused to read it).
        target: String,
    },
    /// Links that loop or chain too deep.
    Loop,
    /// The file system refused access (permissions) or failed otherwise.
    Unreadable {
        /// The OS error text.
        error: String,
    },
}

/// Read access to one cache root.
#[derive(Debug)]
pub struct CacheFs {
    root: PathBuf,
    /// Folders already checked to be real (`true`) or not (`false`).
    real_dirs: HashMap<PathBuf, bool>,
}

impl CacheFs {
    /// Access rooted at `root` (`/cache` in the sandbox).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            real_dirs: HashMap::new(),
        }
    }

    /// The root this handle reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The OS path of a cache-relative path.
    pub fn host_path(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// `lstat` of a cache-relative path.
    pub fn symlink_metadata(&self, rel: &Path) -> io::Result<fs::Metadata> {
        fs::symlink_metadata(self.host_path(rel))
    }

    /// Whether the cache root itself exists and is a folder.
    pub fn root_exists(&self) -> bool {
        fs::symlink_metadata(&self.root).is_ok_and(|m| m.is_dir())
            || fs::metadata(&self.root).is_ok_and(|m| m.is_dir())
    }

    /// Entries of a folder as `(name, file type)`, sorted by name. The type comes from the
    /// directory listing itself, so no extra `stat` is made per entry.
    pub fn read_dir(&self, rel: &Path) -> io::Result<Vec<(String, fs::FileType)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.host_path(rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, entry.file_type()?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Reads at most `limit` bytes from the start of a regular (link-free) file.
    pub fn read_prefix(&self, rel: &Path, limit: usize) -> io::Result<Vec<u8>> {
        let file = fs::File::open(self.host_path(rel))?;
        let mut buf = Vec::with_capacity(limit.min(64 * 1024));
        file.take(limit as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Follows a path that is known to be a symlink to what it finally names.
    pub fn follow_link(&mut self, link: &Path) -> Resolved {
        let mut current = link.to_path_buf();
        for _ in 0..MAX_LINK_HOPS {
            let target = match fs::read_link(self.host_path(&current)) {
                Ok(t) => t,
                Err(e) if is_sandbox_refusal(&e) => {
                    // wasmtime refuses even to read an absolute link.
                    return Resolved::Escapes {
                        target: String::new(),
                    };
                }
                Err(e) => {
                    return Resolved::Unreadable {
                        error: e.to_string(),
                    };
                }
            };
            let text = target.to_string_lossy().into_owned();
            let parent = current.parent().unwrap_or(Path::new(""));
            let Some(next) = lexical_join(parent, &target) else {
                return Resolved::Escapes { target: text };
            };
            match self.parents_are_real(&next) {
                Ok(true) => {}
                Ok(false) => return Resolved::Escapes { target: text },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Resolved::Dangling { target: text };
                }
                Err(e) => return classify_error(&e, text),
            }
            match self.symlink_metadata(&next) {
                Ok(m) if m.file_type().is_symlink() => current = next,
                Ok(m) => return resolved_from_metadata(next, &m),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Resolved::Dangling { target: text };
                }
                Err(e) => return classify_error(&e, text),
            }
        }
        Resolved::Loop
    }

    /// What a cache-relative path is, following links if it is one.
    pub fn resolve(&mut self, rel: &Path) -> Resolved {
        match self.symlink_metadata(rel) {
            Ok(m) if m.file_type().is_symlink() => self.follow_link(rel),
            Ok(m) => resolved_from_metadata(rel.to_path_buf(), &m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Resolved::Dangling {
                target: String::new(),
            },
            Err(e) => classify_error(&e, String::new()),
        }
    }

    /// Checks that every folder above `rel` is a real folder (not a link); memoised.
    fn parents_are_real(&mut self, rel: &Path) -> io::Result<bool> {
        let mut dir = PathBuf::new();
        let comps: Vec<_> = rel.components().collect();
        for comp in comps.iter().take(comps.len().saturating_sub(1)) {
            dir.push(comp);
            if let Some(&known) = self.real_dirs.get(&dir) {
                if !known {
                    return Ok(false);
                }
                continue;
            }
            let m = self.symlink_metadata(&dir)?;
            let real = m.is_dir();
            self.real_dirs.insert(dir.clone(), real);
            if !real {
                if m.file_type().is_symlink() {
                    return Ok(false);
                }
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
        }
        Ok(true)
    }
}

fn resolved_from_metadata(path: PathBuf, m: &fs::Metadata) -> Resolved {
    if m.is_file() {
        Resolved::File {
            path,
            size: m.len(),
            modified: m.modified().ok(),
        }
    } else if m.is_dir() {
        Resolved::Dir
    } else {
        Resolved::Special
    }
}

fn classify_error(e: &io::Error, target: String) -> Resolved {
    if is_sandbox_refusal(e) {
        Resolved::Escapes { target }
    } else if is_loop(e) {
        Resolved::Loop
    } else {
        Resolved::Unreadable {
            error: e.to_string(),
        }
    }
}

/// Whether an error is the sandbox refusing a path outside the preopen: EPERM under
/// wasmtime, ENOTCAPABLE under Node's uvwasi. A genuine permission problem is EACCES.
pub fn is_sandbox_refusal(e: &io::Error) -> bool {
    #[cfg(target_os = "wasi")]
    {
        matches!(e.raw_os_error(), Some(63 | 76))
    }
    #[cfg(not(target_os = "wasi"))]
    {
        e.raw_os_error() == Some(1)
    }
}

fn is_loop(e: &io::Error) -> bool {
    #[cfg(target_os = "wasi")]
    {
        e.raw_os_error() == Some(32)
    }
    #[cfg(not(target_os = "wasi"))]
    {
        e.raw_os_error() == Some(40)
    }
}

/// Joins a relative link target to the link's folder without touching the disk.
/// Returns `None` when the result would leave the root or the target is absolute.
pub fn lexical_join(base: &Path, target: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for comp in base.components().chain(target.components()) {
        match comp {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_join_stays_under_root() {
        let base = Path::new("models--a--b/snapshots/c");
        assert_eq!(
            lexical_join(base, Path::new("../../blobs/x")),
            Some(PathBuf::from("models--a--b/blobs/x"))
        );
        assert_eq!(
            lexical_join(
                Path::new("m/snapshots/c/sub"),
                Path::new("../../../blobs/x")
            ),
            Some(PathBuf::from("m/blobs/x"))
        );
        assert_eq!(
            lexical_join(base, Path::new("../../../../etc/passwd")),
            None
        );
        assert_eq!(lexical_join(base, Path::new("/etc/passwd")), None);
        assert_eq!(lexical_join(base, Path::new("./y")), Some(base.join("y")));
    }
}

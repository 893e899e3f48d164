//! Sandbox-safe file access under the cache root: links are followed by us, lexically.
//!
//! The operating system never follows a symlink on our behalf. A link's target is read
//! with `read_link`, joined to the link's folder and normalised without touching the disk;
//! a target that is absolute or climbs above the root is reported as escaping, never
//! opened. This holds natively (tests, the host's rlib) exactly as it does in the WASI
//! sandbox, where wasmtime and Node refuse such paths anyway (EPERM / ENOTCAPABLE), and it
//! means no `canonicalize` is ever needed. Folders on a resolved path are checked once to
//! be real folders, so a symlinked `blobs/` cannot smuggle a path out either.

pub mod dir;
pub mod listing;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

pub use dir::{Dir, Kind, Stat};
use listing::{Listed, Listing};

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
    /// A link that points outside the cache (absolute, or `..` past the root), or through
    /// a linked folder.
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
    /// Open real folders by cache-relative path; released after each repo.
    /// Keyed by the raw path bytes: `Path`'s own hash parses components, which costs
    /// more than the lookup saves on the hot path.
    dirs: RefCell<HashMap<OsString, Rc<Dir>>>,
    /// Folders the host listed in one call ([`Self::prefetch`]), by cache-relative path;
    /// reads of them are answered from here until the next prefetch or write.
    listed: RefCell<HashMap<OsString, Rc<Listing>>>,
    /// Where the host found the root, when it said.
    location: Option<crate::location::Location>,
    /// Whether the command may create a missing root (`pull`).
    creates: bool,
}

impl CacheFs {
    /// Access rooted at `root` (`/cache` in the sandbox).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dirs: RefCell::new(HashMap::new()),
            listed: RefCell::new(HashMap::new()),
            location: None,
            creates: false,
        }
    }

    /// The same access, knowing where the host found the root and whether the command
    /// may create it when it is missing.
    #[must_use]
    pub fn with_location(
        mut self,
        location: Option<crate::location::Location>,
        creates: bool,
    ) -> Self {
        self.location = location;
        self.creates = creates;
        self
    }

    /// Whether the command may create a missing root.
    pub fn creates_cache(&self) -> bool {
        self.creates
    }

    /// Where the host found the root, when it said.
    pub fn location(&self) -> Option<&crate::location::Location> {
        self.location.as_ref()
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

    /// The open real folder at `rel`, opening each component without following links.
    pub fn dir(&self, rel: &Path) -> io::Result<Rc<Dir>> {
        if let Some(d) = self.dirs.borrow().get(rel.as_os_str()) {
            return Ok(Rc::clone(d));
        }
        let dir = match rel.parent() {
            None => Dir::preopen(&self.root)?,
            Some(parent) => {
                let (_, name) = dir::split(rel)?;
                self.dir(parent)?.open_dir(&name)?
            }
        };
        let dir = Rc::new(dir);
        self.dirs
            .borrow_mut()
            .insert(rel.as_os_str().to_owned(), Rc::clone(&dir));
        Ok(dir)
    }

    /// Closes every folder opened so far except the root (call between repos, so a large
    /// cache never holds thousands of descriptors).
    pub fn release(&self) {
        self.dirs.borrow_mut().retain(|path, _| path.is_empty());
    }

    /// Lists `dirs` (each with its real sub-folders when `true`) in one host call and
    /// answers later reads of them from that listing, replacing an earlier one. Folders
    /// the host cannot list, and hosts without the capability, are read name by name as
    /// before, so the answers are the same either way; only the cost differs.
    pub fn prefetch(&self, dirs: &[(PathBuf, bool)]) {
        self.listed.borrow_mut().clear();
        if dirs.is_empty() {
            return;
        }
        let asked: Vec<(&Path, bool)> = dirs.iter().map(|(p, r)| (p.as_path(), *r)).collect();
        if let Ok(found) = crate::capability::list_dirs(&asked) {
            let mut listed = self.listed.borrow_mut();
            for (path, listing) in found {
                listed.insert(OsString::from(path), Rc::new(listing));
            }
        }
    }

    /// The prefetched listing of the folder `rel`.
    fn listed(&self, rel: &Path) -> Option<Rc<Listing>> {
        let listed = self.listed.borrow();
        if listed.is_empty() {
            return None;
        }
        listed.get(rel.as_os_str()).cloned()
    }

    /// Drops every prefetched listing: the cache is about to change.
    fn changing(&self) {
        self.listed.borrow_mut().clear();
    }

    /// The text of the link `name` in the folder `parent`.
    fn read_link_at(&self, parent: &Path, name: &str) -> io::Result<PathBuf> {
        if let Some(text) = self
            .listed(parent)
            .and_then(|l| l.get(name).and_then(|e| e.link.clone()))
        {
            return Ok(PathBuf::from(text));
        }
        self.dir(parent)?.read_link(name)
    }

    /// `lstat` of a cache-relative path.
    pub fn lstat(&self, rel: &Path) -> io::Result<Stat> {
        if rel.as_os_str().is_empty() {
            // The root itself: "." of its own descriptor (a workspace's mtime is its folder's).
            let root = self.dir(rel)?;
            let modified = root.lstat(".").ok().and_then(|st| st.modified);
            return Ok(Stat {
                kind: Kind::Dir,
                size: 0,
                modified,
            });
        }
        let (parent, name) = dir::split(rel)?;
        if let Some(listing) = self.listed(&parent) {
            match listing.get(&name) {
                Some(Listed { stat: Some(st), .. }) => return Ok(*st),
                // A link: its own `stat` was not taken.
                Some(_) => {}
                None => return Err(io::Error::from(io::ErrorKind::NotFound)),
            }
        }
        self.dir(&parent)?.lstat(&name)
    }

    /// Whether the cache root itself exists and is a folder.
    pub fn root_exists(&self) -> bool {
        self.dir(Path::new("")).is_ok()
    }

    /// Entries of a real folder as `(name, kind)`, sorted by name. The kind comes from the
    /// directory listing itself, so no extra `stat` is made per entry.
    pub fn read_dir(&self, rel: &Path) -> io::Result<Vec<(String, Kind)>> {
        if let Some(listing) = self.listed(rel) {
            return Ok(listing
                .entries()
                .iter()
                .map(|e| (e.name.clone(), e.kind))
                .collect());
        }
        let mut out = self.dir(rel)?.read_dir()?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Opens a regular (link-free) file for reading.
    pub fn open_file(&self, rel: &Path) -> io::Result<fs::File> {
        let (parent, name) = dir::split(rel)?;
        self.dir(&parent)?.open_file(&name)
    }

    /// Reads at most `limit` bytes from the start of a regular file; a link is refused.
    pub fn read_prefix(&self, rel: &Path, limit: usize) -> io::Result<Vec<u8>> {
        let st = self.lstat(rel)?;
        if st.kind != Kind::File {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        self.read_prefix_sized(rel, limit, Some(st.size))
    }

    /// [`Self::read_prefix`] for a path already known (from a walk) to be a regular file
    /// of `size` bytes: the buffer is sized once and no `stat` is made.
    pub fn read_prefix_sized(
        &self,
        rel: &Path,
        limit: usize,
        size: Option<u64>,
    ) -> io::Result<Vec<u8>> {
        let mut file = self.open_file(rel)?;
        let want = size.map_or(limit, |s| {
            usize::try_from(s)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
                .min(limit)
        });
        let mut buf = vec![0u8; want.clamp(1, 1 << 16)];
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                if buf.len() >= limit {
                    break;
                }
                buf.resize((buf.len() * 2).min(limit), 0);
            }
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    /// Follows a path that is known to be a symlink to what it finally names.
    pub fn follow_link(&self, link: &Path) -> Resolved {
        let mut current = link.to_path_buf();
        for _ in 0..MAX_LINK_HOPS {
            let read =
                dir::split(&current).and_then(|(parent, name)| self.read_link_at(&parent, &name));
            let target = match read {
                Ok(t) => t,
                Err(e) if is_sandbox_refusal(&e) => {
                    // wasmtime refuses even to read an absolute link.
                    return Resolved::Escapes {
                        target: String::new(),
                    };
                }
                Err(e) => {
                    return Resolved::Unreadable {
                        error: describe(&e),
                    };
                }
            };
            let text = target.to_string_lossy().into_owned();
            let parent = current.parent().unwrap_or(Path::new(""));
            let Some(next) = lexical_join(parent, &target) else {
                // An absolute target is a host path: wasmtime will not even read it, and
                // it is not ours to print.
                let target = if target.has_root() {
                    String::new()
                } else {
                    text
                };
                return Resolved::Escapes { target };
            };
            let (folder, name) = match dir::split(&next) {
                Ok(split) => split,
                // The link names the cache root itself.
                Err(_) => return Resolved::Dir,
            };
            if let Some(listing) = self.listed(&folder) {
                match listing.get(&name) {
                    Some(e) if e.kind == Kind::Symlink => {
                        current = next;
                        continue;
                    }
                    Some(Listed { stat: Some(st), .. }) => return resolved_from_stat(next, *st),
                    Some(_) => {}
                    None => return Resolved::Dangling { target: text },
                }
            }
            let folder = match self.dir(&folder) {
                Ok(d) => d,
                Err(_) => return self.why_not_a_dir(&folder, text),
            };
            match folder.lstat(&name) {
                Ok(st) if st.kind == Kind::Symlink => current = next,
                Ok(st) => return resolved_from_stat(next, st),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Resolved::Dangling { target: text };
                }
                Err(e) => return classify_error(&e, text),
            }
        }
        Resolved::Loop
    }

    /// Unlinks a file or link; a missing one is already gone.
    pub fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.changing();
        let (parent, name) = dir::split(rel)?;
        match self.dir(&parent)?.remove_file(&name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Removes a folder and everything in it, depth first, never through a link (links
    /// are unlinked, not followed). Returns the bytes of the regular files removed; on
    /// failure, the path that could not be removed and why.
    pub fn remove_tree(&self, rel: &Path) -> Result<u64, (PathBuf, io::Error)> {
        self.changing();
        let at = |e: io::Error| (rel.to_path_buf(), e);
        let st = match self.lstat(rel) {
            Ok(st) => st,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(at(e)),
        };
        if st.kind != Kind::Dir {
            self.remove_file(rel).map_err(at)?;
            return Ok(if st.kind == Kind::File { st.size } else { 0 });
        }
        let mut freed = 0;
        for (name, _) in self.read_dir(rel).map_err(at)? {
            freed += self.remove_tree(&rel.join(name))?;
        }
        self.forget(rel);
        let (parent, name) = dir::split(rel).map_err(at)?;
        match self.dir(&parent).map_err(at)?.remove_dir(&name) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(at(e)),
            _ => Ok(freed),
        }
    }

    /// Creates the folder `rel` and any missing parents inside the cache; one that exists
    /// (as a real folder) is fine.
    pub fn create_dirs(&self, rel: &Path) -> io::Result<()> {
        self.changing();
        if rel.as_os_str().is_empty() || self.dir(rel).is_ok() {
            return Ok(());
        }
        let (parent, name) = dir::split(rel)?;
        self.create_dirs(&parent)?;
        match self.dir(&parent)?.create_dir(&name) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    }

    /// Creates the file `rel`, which must not exist (its folder must), for writing.
    pub fn create_file(&self, rel: &Path) -> io::Result<fs::File> {
        self.changing();
        let (parent, name) = dir::split(rel)?;
        self.dir(&parent)?.create_file(&name)
    }

    /// Moves `from` to `to` (both cache-relative, one atomic rename).
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.changing();
        let (from_parent, from_name) = dir::split(from)?;
        let (to_parent, to_name) = dir::split(to)?;
        self.forget(from);
        let source = self.dir(&from_parent)?;
        let dest = self.dir(&to_parent)?;
        source.rename_into(&from_name, &dest, &to_name)
    }

    /// Replaces `rel` atomically through the named temporary file `tmp` (same folder).
    pub fn replace_file_via(&self, rel: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
        self.changing();
        let (parent, name) = dir::split(rel)?;
        let (tmp_parent, tmp_name) = dir::split(tmp)?;
        if parent != tmp_parent {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let dir = self.dir(&parent)?;
        if let Err(e) = dir
            .write_file(&tmp_name, bytes)
            .and_then(|()| dir.rename(&tmp_name, &name))
        {
            let _ = dir.remove_file(&tmp_name);
            return Err(e);
        }
        Ok(())
    }

    /// Replaces a file's content atomically (a temporary file, then a rename).
    pub fn replace_file(&self, rel: &Path, bytes: &[u8]) -> io::Result<()> {
        self.changing();
        let (parent, name) = dir::split(rel)?;
        let dir = self.dir(&parent)?;
        let tmp = format!(".{name}.mlxk-tmp");
        dir.write_file(&tmp, bytes)?;
        dir.rename(&tmp, &name)
    }

    /// Closes the open folders at and under `rel` (before it is removed).
    fn forget(&self, rel: &Path) {
        self.dirs
            .borrow_mut()
            .retain(|path, _| !Path::new(path).starts_with(rel) || rel.as_os_str().is_empty());
    }

    /// The text of the link at `link`, as stored.
    pub fn link_text(&self, link: &Path) -> Option<String> {
        let (parent, name) = dir::split(link).ok()?;
        let target = self.read_link_at(&parent, &name).ok()?;
        Some(target.to_string_lossy().into_owned())
    }

    /// Where the link at `link` points after one hop, joined lexically; `None` when it
    /// cannot be read or would leave the cache.
    pub fn link_target(&self, link: &Path) -> Option<PathBuf> {
        let (parent, name) = dir::split(link).ok()?;
        let target = self.read_link_at(&parent, &name).ok()?;
        lexical_join(&parent, &target)
    }

    /// Explains why a link's folder could not be opened: a missing component makes the
    /// link dangle; a linked folder on the way is treated as leaving the cache.
    fn why_not_a_dir(&self, folder: &Path, target: String) -> Resolved {
        let mut prefix = PathBuf::new();
        for comp in folder.components() {
            let parent = prefix.clone();
            prefix.push(comp);
            if self.dir(&prefix).is_ok() {
                continue;
            }
            let (_, name) = match dir::split(&prefix) {
                Ok(s) => s,
                Err(_) => break,
            };
            return match self.dir(&parent).and_then(|d| d.lstat(&name)) {
                Ok(st) if st.kind == Kind::Symlink => Resolved::Escapes { target },
                Ok(_) => Resolved::Dangling { target },
                Err(e) if e.kind() == io::ErrorKind::NotFound => Resolved::Dangling { target },
                Err(e) => classify_error(&e, target),
            };
        }
        Resolved::Dangling { target }
    }

    /// What a cache-relative path is, following links if it is one.
    pub fn resolve(&self, rel: &Path) -> Resolved {
        match self.lstat(rel) {
            Ok(st) if st.kind == Kind::Symlink => self.follow_link(rel),
            Ok(st) => resolved_from_stat(rel.to_path_buf(), st),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Resolved::Dangling {
                target: String::new(),
            },
            Err(e) => classify_error(&e, String::new()),
        }
    }
}

fn resolved_from_stat(path: PathBuf, st: Stat) -> Resolved {
    match st.kind {
        Kind::File => Resolved::File {
            path,
            size: st.size,
            modified: st.modified,
        },
        Kind::Dir => Resolved::Dir,
        Kind::Symlink | Kind::Other => Resolved::Special,
    }
}

fn classify_error(e: &io::Error, target: String) -> Resolved {
    if is_sandbox_refusal(e) {
        Resolved::Escapes { target }
    } else if is_loop(e) {
        Resolved::Loop
    } else {
        Resolved::Unreadable { error: describe(e) }
    }
}

/// An I/O error as words that read the same on every runtime (the OS error number
/// differs between wasmtime, Node and native builds; the kind does not).
pub fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::InvalidData => dir::bad_name().to_string(),
        kind => kind.to_string(),
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

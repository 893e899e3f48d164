//! Open directories and single-name lookups inside them (`*at` calls).
//!
//! Under WASI every path-based call makes the runtime re-resolve the whole path from the
//! preopen, component by component (three or more host syscalls for one `stat`). Holding
//! a directory open and asking it about one name costs one. Directories are opened one
//! component at a time without following links, so an open [`Dir`] is always a real
//! folder inside the cache. Natively (tests, the host's rlib) the same API is a thin layer
//! over `std::fs` paths.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

/// What a name is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A device, fifo or socket.
    Other,
}

/// `lstat` of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// What it is.
    pub kind: Kind,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time.
    pub modified: Option<SystemTime>,
}

pub use imp::Dir;

#[cfg(target_os = "wasi")]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::fd::FromRawFd;
    use std::path::PathBuf;
    use std::time::{Duration, UNIX_EPOCH};

    use super::{Kind, Stat};

    const DIR_RIGHTS: wasi::Rights = wasi::RIGHTS_FD_READ
        | wasi::RIGHTS_FD_SEEK
        | wasi::RIGHTS_FD_TELL
        | wasi::RIGHTS_FD_FILESTAT_GET
        | wasi::RIGHTS_FD_READDIR
        | wasi::RIGHTS_PATH_OPEN
        | wasi::RIGHTS_PATH_READLINK
        | wasi::RIGHTS_PATH_FILESTAT_GET
        // Only usable when the host preopened the cache writable (`rm`); a read-only
        // preopen refuses the calls themselves.
        | wasi::RIGHTS_PATH_UNLINK_FILE
        | wasi::RIGHTS_PATH_REMOVE_DIRECTORY
        | wasi::RIGHTS_PATH_CREATE_FILE
        | wasi::RIGHTS_PATH_CREATE_DIRECTORY
        // uvwasi asks for it on `path_open(O_TRUNC)`.
        | wasi::RIGHTS_PATH_FILESTAT_SET_SIZE
        | wasi::RIGHTS_PATH_RENAME_SOURCE
        | wasi::RIGHTS_PATH_RENAME_TARGET;
    const WRITE_RIGHTS: wasi::Rights = wasi::RIGHTS_FD_WRITE
        | wasi::RIGHTS_FD_FILESTAT_GET
        | wasi::RIGHTS_FD_SYNC
        // A copied file keeps its source's mtime (`clone`, `convert`).
        | wasi::RIGHTS_FD_FILESTAT_SET_TIMES;
    const FILE_RIGHTS: wasi::Rights = wasi::RIGHTS_FD_READ
        | wasi::RIGHTS_FD_SEEK
        | wasi::RIGHTS_FD_TELL
        | wasi::RIGHTS_FD_FILESTAT_GET;

    fn err(e: wasi::Errno) -> io::Error {
        io::Error::from_raw_os_error(i32::from(e.raw()))
    }

    /// An open directory descriptor.
    #[derive(Debug)]
    pub struct Dir {
        fd: wasi::Fd,
        /// Preopens belong to the runtime and are never closed.
        owned: bool,
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            if self.owned {
                // SAFETY: `fd` was returned by `path_open` for this `Dir` alone.
                let _ = unsafe { wasi::fd_close(self.fd) };
            }
        }
    }

    impl Dir {
        /// The preopened directory whose guest name is `root`, if there is one.
        pub fn preopen(root: &std::path::Path) -> io::Result<Self> {
            // wasi-libc learns its preopens lazily, on the first path-based call, by probing
            // descriptors from 3 up; Node's runtime answers EINVAL (not EBADF) for one of
            // our open folders and libc would then abort. Let it learn them now, while
            // only the preopens are open.
            let _ = std::fs::metadata(root);
            let want = root.to_string_lossy();
            // A folder inside a preopen (a temporary cache inside `/target`) is opened
            // from the preopen, one component at a time, never through a link.
            let mut holders: Vec<(u32, String)> = Vec::new();
            for fd in 3..256 {
                // SAFETY: querying a descriptor number is harmless; EBADF ends the scan.
                let prestat = match unsafe { wasi::fd_prestat_get(fd) } {
                    Ok(p) => p,
                    Err(wasi::ERRNO_BADF) => break,
                    Err(_) => continue,
                };
                // SAFETY: a prestat's tag 0 is a directory, whose union member is `dir`.
                let len = unsafe { prestat.u.dir.pr_name_len };
                let mut name = vec![0u8; len];
                // SAFETY: `name` has exactly `len` writable bytes.
                if unsafe { wasi::fd_prestat_dir_name(fd, name.as_mut_ptr(), len) }.is_err() {
                    continue;
                }
                let name = String::from_utf8_lossy(&name)
                    .trim_end_matches('\0')
                    .to_owned();
                if name == want {
                    return Ok(Self { fd, owned: false });
                }
                holders.push((fd, name));
            }
            let (fd, rest) = holders
                .iter()
                .filter_map(|(fd, name)| {
                    let rest = want.strip_prefix(name.as_str())?.strip_prefix('/')?;
                    Some((*fd, rest.to_owned()))
                })
                .min_by_key(|(_, rest)| rest.len())
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            let mut dir = Self { fd, owned: false };
            for part in rest.split('/').filter(|p| !p.is_empty()) {
                dir = dir.open_dir(part)?;
            }
            Ok(dir)
        }

        /// Opens the child folder `name` without following a link.
        pub fn open_dir(&self, name: &str) -> io::Result<Self> {
            // Node's runtime follows a final link even without SYMLINK_FOLLOW, out of the
            // preopen too; only a prior `lstat` makes "never through a link" hold there.
            if self.lstat(name)?.kind != Kind::Dir {
                return Err(io::Error::from(io::ErrorKind::NotADirectory));
            }
            // SAFETY: plain hostcall; the returned fd is owned by the new `Dir`.
            let fd = unsafe {
                wasi::path_open(
                    self.fd,
                    0,
                    name,
                    wasi::OFLAGS_DIRECTORY,
                    DIR_RIGHTS,
                    // Runtimes that enforce rights (Node's uvwasi) need the write rights
                    // here for a file this folder creates; the host's preopen decides
                    // whether writing is allowed at all.
                    DIR_RIGHTS | FILE_RIGHTS | WRITE_RIGHTS,
                    0,
                )
            }
            .map_err(err)?;
            Ok(Self { fd, owned: true })
        }

        /// Unlinks the file or link `name` (never what a link points to).
        pub fn remove_file(&self, name: &str) -> io::Result<()> {
            // SAFETY: plain hostcall with a valid string.
            unsafe { wasi::path_unlink_file(self.fd, name) }.map_err(err)
        }

        /// Removes the empty folder `name`.
        pub fn remove_dir(&self, name: &str) -> io::Result<()> {
            // SAFETY: plain hostcall with a valid string.
            unsafe { wasi::path_remove_directory(self.fd, name) }.map_err(err)
        }

        /// Creates the folder `name`.
        pub fn create_dir(&self, name: &str) -> io::Result<()> {
            // SAFETY: plain hostcall with a valid string.
            unsafe { wasi::path_create_directory(self.fd, name) }.map_err(err)
        }

        /// Creates (or truncates) the file `name` and writes `bytes` to it.
        pub fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            use std::io::Write;
            // SAFETY: plain hostcall; ownership of the fd moves into the `File`.
            let fd = unsafe {
                wasi::path_open(
                    self.fd,
                    0,
                    name,
                    wasi::OFLAGS_CREAT | wasi::OFLAGS_TRUNC,
                    WRITE_RIGHTS,
                    0,
                    0,
                )
            }
            .map_err(err)?;
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            let mut file = unsafe { File::from_raw_fd(fd as i32) };
            file.write_all(bytes)?;
            file.sync_all()
        }

        /// Creates the file `name`, which must not exist, for writing.
        pub fn create_file(&self, name: &str) -> io::Result<File> {
            // SAFETY: plain hostcall; ownership of the fd moves into the `File`.
            let fd = unsafe {
                wasi::path_open(
                    self.fd,
                    0,
                    name,
                    wasi::OFLAGS_CREAT | wasi::OFLAGS_EXCL,
                    WRITE_RIGHTS,
                    0,
                    0,
                )
            }
            .map_err(err)?;
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            Ok(unsafe { File::from_raw_fd(fd as i32) })
        }

        /// Renames `from` to `to`, both in this folder (atomic replacement).
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            // SAFETY: plain hostcall with valid strings.
            unsafe { wasi::path_rename(self.fd, from, self.fd, to) }.map_err(err)
        }

        /// Moves `from` in this folder to `to` in `dest` (atomic, one file system).
        pub fn rename_into(&self, from: &str, dest: &Dir, to: &str) -> io::Result<()> {
            // SAFETY: plain hostcall with valid strings.
            unsafe { wasi::path_rename(self.fd, from, dest.fd, to) }.map_err(err)
        }

        /// `lstat` of `name`.
        pub fn lstat(&self, name: &str) -> io::Result<Stat> {
            // SAFETY: plain hostcall with a valid string.
            let st = unsafe { wasi::path_filestat_get(self.fd, 0, name) }.map_err(err)?;
            let kind = match st.filetype {
                wasi::FILETYPE_REGULAR_FILE => Kind::File,
                wasi::FILETYPE_DIRECTORY => Kind::Dir,
                wasi::FILETYPE_SYMBOLIC_LINK => Kind::Symlink,
                _ => Kind::Other,
            };
            Ok(Stat {
                kind,
                size: st.size,
                modified: Some(UNIX_EPOCH + Duration::from_nanos(st.mtim)),
            })
        }

        /// The text of the link `name`.
        pub fn read_link(&self, name: &str) -> io::Result<PathBuf> {
            let mut buf = vec![0u8; 4096];
            // SAFETY: `buf` has `buf.len()` writable bytes.
            let n = unsafe { wasi::path_readlink(self.fd, name, buf.as_mut_ptr(), buf.len()) }
                .map_err(err)?;
            buf.truncate(n);
            Ok(PathBuf::from(String::from_utf8_lossy(&buf).into_owned()))
        }

        /// Every entry but `.` and `..`, with the type the listing reports. One large
        /// buffer, so the runtime lists the folder once (it re-lists it, and re-stats
        /// every entry, for each further call).
        pub fn read_dir(&self) -> io::Result<Vec<(String, Kind)>> {
            const HEADER: usize = 24; // d_next u64, d_ino u64, d_namlen u32, d_type u8, pad
            // Big enough for a few hundred entries in one call; grown when filled.
            let mut buf = vec![0u8; 32 << 10];
            let mut out = Vec::new();
            let mut cookie: wasi::Dircookie = 0;
            loop {
                // SAFETY: `buf` has `buf.len()` writable bytes.
                let used =
                    unsafe { wasi::fd_readdir(self.fd, buf.as_mut_ptr(), buf.len(), cookie) }
                        .map_err(|e| {
                            // wasmtime cannot list a folder holding a name that is not UTF-8.
                            if e == wasi::ERRNO_ILSEQ {
                                super::bad_name()
                            } else {
                                err(e)
                            }
                        })?;
                let mut at = 0;
                let mut complete = true;
                while at + HEADER <= used {
                    let word =
                        |i: usize| u64::from_le_bytes(buf[at + i..at + i + 8].try_into().unwrap());
                    let next = word(0);
                    let namlen =
                        u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
                    let d_type = buf[at + 20];
                    if at + HEADER + namlen > used {
                        complete = false;
                        break;
                    }
                    // Node lists such names; refuse them here too, so runtimes agree.
                    let name = std::str::from_utf8(&buf[at + HEADER..at + HEADER + namlen])
                        .map_err(|_| super::bad_name())?
                        .to_owned();
                    at += HEADER + namlen;
                    cookie = next;
                    if name == "." || name == ".." {
                        continue;
                    }
                    let kind = match d_type {
                        t if t == wasi::FILETYPE_REGULAR_FILE.raw() => Kind::File,
                        t if t == wasi::FILETYPE_DIRECTORY.raw() => Kind::Dir,
                        t if t == wasi::FILETYPE_SYMBOLIC_LINK.raw() => Kind::Symlink,
                        _ => Kind::Other,
                    };
                    out.push((name, kind));
                }
                if used < buf.len() && complete {
                    return Ok(out);
                }
                // Filled: the runtime re-lists the folder for every call, so ask for
                // more at once next time.
                buf.resize(buf.len() * 4, 0);
            }
        }

        /// Opens the file `name` for reading, without following a link.
        pub fn open_file(&self, name: &str) -> io::Result<File> {
            // SAFETY: plain hostcall; ownership of the fd moves into the `File`.
            let fd =
                unsafe { wasi::path_open(self.fd, 0, name, 0, FILE_RIGHTS, 0, 0) }.map_err(err)?;
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            Ok(unsafe { File::from_raw_fd(fd as i32) })
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod imp {
    use std::fs::{self, File};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Kind, Stat};

    fn kind_of(ft: fs::FileType) -> Kind {
        if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_file() {
            Kind::File
        } else if ft.is_dir() {
            Kind::Dir
        } else {
            Kind::Other
        }
    }

    /// A directory, by path.
    #[derive(Debug)]
    pub struct Dir {
        path: PathBuf,
    }

    impl Dir {
        /// The cache root.
        pub fn preopen(root: &Path) -> io::Result<Self> {
            if fs::metadata(root)?.is_dir() {
                Ok(Self {
                    path: root.to_path_buf(),
                })
            } else {
                Err(io::Error::from(io::ErrorKind::NotADirectory))
            }
        }

        /// The child folder `name`; a link is refused as `O_NOFOLLOW` would.
        pub fn open_dir(&self, name: &str) -> io::Result<Self> {
            let path = self.path.join(name);
            let m = fs::symlink_metadata(&path)?;
            if m.file_type().is_symlink() {
                return Err(io::Error::from_raw_os_error(40)); // ELOOP
            }
            if !m.is_dir() {
                return Err(io::Error::from(io::ErrorKind::NotADirectory));
            }
            Ok(Self { path })
        }

        /// Unlinks the file or link `name`.
        pub fn remove_file(&self, name: &str) -> io::Result<()> {
            fs::remove_file(self.path.join(name))
        }

        /// Removes the empty folder `name`.
        pub fn remove_dir(&self, name: &str) -> io::Result<()> {
            fs::remove_dir(self.path.join(name))
        }

        /// Creates the folder `name`.
        pub fn create_dir(&self, name: &str) -> io::Result<()> {
            fs::create_dir(self.path.join(name))
        }

        /// Creates (or truncates) the file `name` with `bytes`.
        pub fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            use std::io::Write;
            let mut f = File::create(self.path.join(name))?;
            f.write_all(bytes)?;
            f.sync_all()
        }

        /// Creates the file `name`, which must not exist, for writing.
        pub fn create_file(&self, name: &str) -> io::Result<File> {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.path.join(name))
        }

        /// Renames `from` to `to` in this folder.
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            fs::rename(self.path.join(from), self.path.join(to))
        }

        /// Moves `from` in this folder to `to` in `dest`.
        pub fn rename_into(&self, from: &str, dest: &Dir, to: &str) -> io::Result<()> {
            fs::rename(self.path.join(from), dest.path.join(to))
        }

        /// `lstat` of `name`.
        pub fn lstat(&self, name: &str) -> io::Result<Stat> {
            let m = fs::symlink_metadata(self.path.join(name))?;
            Ok(Stat {
                kind: kind_of(m.file_type()),
                size: m.len(),
                modified: m.modified().ok(),
            })
        }

        /// The text of the link `name`.
        pub fn read_link(&self, name: &str) -> io::Result<PathBuf> {
            fs::read_link(self.path.join(name))
        }

        /// Every entry, with its type (from the listing, no extra `stat`).
        pub fn read_dir(&self) -> io::Result<Vec<(String, Kind)>> {
            let mut out = Vec::new();
            for entry in fs::read_dir(&self.path)? {
                let entry = entry?;
                let kind = kind_of(entry.file_type()?);
                let name = entry
                    .file_name()
                    .into_string()
                    .map_err(|_| super::bad_name())?;
                out.push((name, kind));
            }
            Ok(out)
        }

        /// Opens the file `name` for reading; a link is refused.
        pub fn open_file(&self, name: &str) -> io::Result<File> {
            let path = self.path.join(name);
            if fs::symlink_metadata(&path)?.file_type().is_symlink() {
                return Err(io::Error::from_raw_os_error(40));
            }
            File::open(path)
        }
    }
}

/// The error for a folder holding a file name that is not UTF-8. The WASI runtimes cannot
/// agree on such names (wasmtime refuses the whole listing, Node passes the raw bytes), so no
/// runtime lists them.
pub fn bad_name() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a file name is not valid UTF-8")
}

/// Splits a cache-relative path into its folder and last name.
pub fn split(rel: &std::path::Path) -> io::Result<(PathBuf, String)> {
    let name = rel
        .file_name()
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?
        .to_string_lossy()
        .into_owned();
    Ok((rel.parent().map(PathBuf::from).unwrap_or_default(), name))
}

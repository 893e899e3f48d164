//! The `mlxk_host_v1` imports (ABI: `core_wasm::capability`): hash a file inside the
//! cache at native speed, probe a lock file's flock, show hashing progress, list many
//! folders in one call (`crate::listing`).
//!
//! Files are opened only through a cap-std handle rooted at the cache, with the last
//! component never followed, after the path passed the ABI's syntax rule: nothing
//! outside the cache can be named, whatever the guest asks.

use std::io;
use std::path::Path;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use core_wasm::capability::{self, CapError, LockState};
use core_wasm::digest::{self, Algo, FileDigest};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wasmtime::{Caller, Linker, Memory};

/// The import module's name.
pub const MODULE: &str = "mlxk_host_v1";
/// Longest path the guest may pass.
const MAX_PATH: u32 = 4096;
/// Most files hashed at once (beyond this, disks rather than cores are the limit).
const MAX_HASH_THREADS: usize = 8;
/// Largest `hash_files` request the guest may pass.
const MAX_REQUEST: u32 = 64 << 20;

/// The capabilities of one guest run.
pub struct CacheCaps {
    dir: Option<Dir>,
    buf: Vec<u8>,
    show_progress: bool,
    progress: Option<ProgressBar>,
    /// The last `list_dirs` answer, until `take_listing` copies it.
    listing: Vec<u8>,
}

impl CacheCaps {
    /// Capabilities over `cache` (none when there is no cache); `show_progress` lets
    /// `progress_begin` draw a bar on stderr (only ever drawn on a terminal).
    pub fn new(cache: Option<&Path>, show_progress: bool) -> io::Result<Self> {
        let dir = cache
            .map(|c| Dir::open_ambient_dir(c, ambient_authority()))
            .transpose()?;
        Ok(Self {
            dir,
            buf: Vec::new(),
            show_progress,
            progress: None,
            listing: Vec::new(),
        })
    }

    fn open(&self, rel: &str) -> Result<std::fs::File, CapError> {
        if !capability::is_valid_path(rel) {
            return Err(CapError::Refused);
        }
        let dir = self.dir.as_ref().ok_or(CapError::Unsupported)?;
        let mut opts = OpenOptions::new();
        opts.read(true).follow(FollowSymlinks::No);
        let file = dir.open_with(rel, &opts).map_err(|e| map_error(&e))?;
        let meta = file.metadata().map_err(|e| map_error(&e))?;
        if !meta.is_file() {
            return Err(CapError::NotAFile);
        }
        Ok(file.into_std())
    }

    /// The digest of the regular file at `rel`.
    pub fn hash_file(&mut self, rel: &str, algo: Algo) -> Result<FileDigest, CapError> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; digest::CHUNK];
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.hash_with(rel, algo, &mut buf);
        self.buf = buf;
        result
    }

    fn hash_with(&self, rel: &str, algo: Algo, buf: &mut [u8]) -> Result<FileDigest, CapError> {
        let file = self.open(rel)?;
        let len = file.metadata().map_err(|e| map_error(&e))?.len();
        let mut on_chunk = |n: u64| {
            if let Some(p) = &self.progress {
                p.inc(n);
            }
        };
        digest::hash_reader_with(algo, len, file, buf, &mut on_chunk).map_err(|e| map_error(&e))
    }

    /// Digests of several files, on up to one thread per core: files are independent,
    /// so a model's shards hash side by side (one file cannot be split).
    pub fn hash_files(&self, files: &[(String, Algo)]) -> Vec<Result<FileDigest, CapError>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(files.len())
            .min(MAX_HASH_THREADS);
        if threads <= 1 {
            let mut buf = vec![0u8; digest::CHUNK];
            return files
                .iter()
                .map(|(rel, algo)| self.hash_with(rel, *algo, &mut buf))
                .collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<FileDigest, CapError>>>> =
            files.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut buf = vec![0u8; digest::CHUNK];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((rel, algo)) = files.get(i) else {
                            break;
                        };
                        let r = self.hash_with(rel, *algo, &mut buf);
                        if let Ok(mut slot) = results[i].lock() {
                            *slot = Some(r);
                        }
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|m| m.into_inner().ok().flatten().unwrap_or(Err(CapError::Io)))
            .collect()
    }

    /// Lists the requested folders and keeps the answer; returns its length.
    pub fn list_dirs(&mut self, request: &[(String, bool)]) -> Result<u32, CapError> {
        let dir = self.dir.as_ref().ok_or(CapError::Unsupported)?;
        self.listing = crate::listing::list_dirs(dir, request);
        u32::try_from(self.listing.len()).map_err(|_| CapError::Io)
    }

    /// The kept answer, once.
    pub fn take_listing(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.listing)
    }

    /// Whether a process holds an flock on the file at `rel`.
    pub fn probe_lock(&self, rel: &str) -> Result<LockState, CapError> {
        Ok(capability::lock_state(&self.open(rel)?))
    }

    /// Starts the progress bar for `total` bytes.
    pub fn progress_begin(&mut self, total: u64, files: u64) {
        if !self.show_progress || total == 0 || !crate::printer::progress_allowed() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "hashing {msg} {wide_bar} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{files} files"));
        self.progress = Some(bar);
    }

    /// Removes the progress bar, if one was drawn.
    pub fn finish(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }
}

/// cap-std reports an attempt to leave the root as a permission error with no OS code;
/// a link in the last component is ELOOP under `O_NOFOLLOW`.
fn map_error(e: &io::Error) -> CapError {
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::PermissionDenied, None) => CapError::Refused,
        (_, Some(code)) if code == rustix::io::Errno::LOOP.raw_os_error() => CapError::Refused,
        (io::ErrorKind::NotFound, _) => CapError::NotFound,
        (io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory, _) => CapError::NotAFile,
        _ => CapError::Io,
    }
}

/// State the imports reach through the store.
pub trait HasCaps {
    /// The capabilities of this run.
    fn caps(&mut self) -> &mut CacheCaps;
}

fn memory<T>(caller: &mut Caller<'_, T>) -> Option<Memory> {
    caller.get_export("memory").and_then(|e| e.into_memory())
}

/// Copies the guest's path out of its memory.
fn read_path<T>(caller: &mut Caller<'_, T>, mem: Memory, ptr: u32, len: u32) -> Option<String> {
    if len > MAX_PATH {
        return None;
    }
    let start = usize::try_from(ptr).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let bytes = mem.data(&*caller).get(start..end)?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The `len` request bytes at `req` in the guest's memory (at most `MAX_REQUEST`).
fn read_request<T>(
    caller: &Caller<'_, T>,
    mem: Memory,
    req: u32,
    len: u32,
) -> Result<Vec<u8>, CapError> {
    if len > MAX_REQUEST {
        return Err(CapError::BadArgs);
    }
    let start = req as usize;
    mem.data(caller)
        .get(start..start + len as usize)
        .map(<[u8]>::to_vec)
        .ok_or(CapError::BadArgs)
}

fn status(r: Result<(), CapError>) -> u32 {
    r.map_or_else(CapError::code, |()| 0)
}

/// Adds the imports to `linker`.
pub fn add_to_linker<T: HasCaps + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "hash_file",
        |mut caller: Caller<'_, T>, ptr: u32, len: u32, algo: u32, out: u32| -> u32 {
            status((|| {
                let mem = memory(&mut caller).ok_or(CapError::BadArgs)?;
                let path = read_path(&mut caller, mem, ptr, len).ok_or(CapError::BadArgs)?;
                let algo = Algo::from_code(algo).ok_or(CapError::BadArgs)?;
                let d = caller.data_mut().caps().hash_file(&path, algo)?;
                let mut bytes = [0u8; 40];
                let raw = hex_bytes(&d.hex);
                bytes[..raw.len()].copy_from_slice(&raw);
                bytes[32..].copy_from_slice(&d.bytes.to_le_bytes());
                mem.write(&mut caller, out as usize, &bytes)
                    .map_err(|_| CapError::BadArgs)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "hash_files",
        |mut caller: Caller<'_, T>, req: u32, len: u32, out: u32| -> u32 {
            status((|| {
                let mem = memory(&mut caller).ok_or(CapError::BadArgs)?;
                let bytes = read_request(&caller, mem, req, len)?;
                let files = parse_request(&bytes).ok_or(CapError::BadArgs)?;
                let valid: Vec<(String, Algo)> = files
                    .iter()
                    .filter_map(|(p, a)| Some((p.clone()?, (*a)?)))
                    .collect();
                let mut hashed = caller.data_mut().caps().hash_files(&valid).into_iter();
                let mut encoded = Vec::with_capacity(files.len() * capability::RECORD);
                for (path, algo) in &files {
                    let r = if path.is_some() && algo.is_some() {
                        hashed.next().unwrap_or(Err(CapError::Io))
                    } else {
                        Err(CapError::BadArgs)
                    };
                    encoded.extend_from_slice(&capability::encode_record(&r));
                }
                mem.write(&mut caller, out as usize, &encoded)
                    .map_err(|_| CapError::BadArgs)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "probe_lock",
        |mut caller: Caller<'_, T>, ptr: u32, len: u32, out: u32| -> u32 {
            status((|| {
                let mem = memory(&mut caller).ok_or(CapError::BadArgs)?;
                let path = read_path(&mut caller, mem, ptr, len).ok_or(CapError::BadArgs)?;
                let byte = match caller.data_mut().caps().probe_lock(&path)? {
                    LockState::Free => 0u8,
                    LockState::Held => 1,
                    LockState::Unknown => return Err(CapError::Unsupported),
                };
                mem.write(&mut caller, out as usize, &[byte])
                    .map_err(|_| CapError::BadArgs)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "list_dirs",
        |mut caller: Caller<'_, T>, req: u32, len: u32, len_out: u32| -> u32 {
            status((|| {
                let mem = memory(&mut caller).ok_or(CapError::BadArgs)?;
                let bytes = read_request(&caller, mem, req, len)?;
                let request =
                    core_wasm::fs::listing::decode_request(&bytes).ok_or(CapError::BadArgs)?;
                let n = caller.data_mut().caps().list_dirs(&request)?;
                mem.write(&mut caller, len_out as usize, &n.to_le_bytes())
                    .map_err(|_| CapError::BadArgs)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "take_listing",
        |mut caller: Caller<'_, T>, out: u32, len: u32| -> u32 {
            status((|| {
                let mem = memory(&mut caller).ok_or(CapError::BadArgs)?;
                let answer = caller.data_mut().caps().take_listing();
                if answer.len() != len as usize {
                    return Err(CapError::BadArgs);
                }
                mem.write(&mut caller, out as usize, &answer)
                    .map_err(|_| CapError::BadArgs)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "progress_begin",
        |mut caller: Caller<'_, T>, total: u64, files: u64| {
            caller.data_mut().caps().progress_begin(total, files);
        },
    )?;
    Ok(())
}

/// `algo: u32, len: u32, path` records; a record whose path or algorithm is invalid is
/// kept as `None` (it gets its own status), a truncated request is `None` overall.
type Request = Vec<(Option<String>, Option<Algo>)>;

fn parse_request(mut bytes: &[u8]) -> Option<Request> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let algo = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
        if len > MAX_PATH {
            return None;
        }
        let path = bytes.get(8..8 + len as usize)?;
        out.push((String::from_utf8(path.to_vec()).ok(), Algo::from_code(algo)));
        bytes = &bytes[8 + len as usize..];
    }
    Some(out)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

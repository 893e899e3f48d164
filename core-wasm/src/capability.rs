//! The narrow host capabilities a deep audit needs beyond WASI preview1: hash a file
//! inside the cache at native speed, probe a lock with `flock`, announce the work ahead.
//!
//! # ABI: import module `mlxk_host_v1`
//!
//! Every path is UTF-8, relative to the cache root, `/`-separated, with no empty, `.` or
//! `..` component. The host opens it under the cache root only (wasmtime: a cap-std
//! handle on the cache; Node: a realpath-inside-root check), never follows a link in its
//! last component, and refuses anything else. The guest resolves links itself and only
//! ever passes the link-free location of a regular file.
//!
//! | import | signature (wasm) | effect |
//! |---|---|---|
//! | `hash_file(path_ptr, path_len, algo, out_ptr) -> status` | `(i32 i32 i32 i32) -> i32` | `algo` 0 = sha256, 1 = git blob sha1. Writes 40 bytes at `out_ptr`: the digest (sha1 in the first 20, zero-padded), then the bytes hashed as u64 little-endian. |
//! | `probe_lock(path_ptr, path_len, out_ptr) -> status` | `(i32 i32 i32) -> i32` | One byte at `out_ptr`: 0 nobody holds an flock on the file, 1 a process holds one. Status 6 when the host cannot tell. |
//! | `hash_files(req_ptr, req_len, out_ptr) -> status` | `(i32 i32 i32) -> i32` | Several `hash_file` calls at once, which the host may run in parallel. The request is a sequence of records `algo: u32 LE, path_len: u32 LE, path bytes`; for record *i* the host writes 44 bytes at `out_ptr + 44 i`: its status as u32 LE, then the 40 bytes `hash_file` writes. The call's own status is 0, or 5 for a malformed request. |
//! | `progress_begin(total_bytes, files)` | `(i64 i64) -> ()` | The bytes about to be hashed, for a progress display; the host may ignore it. |
//! | `list_dirs(req_ptr, req_len, len_out) -> status` | `(i32 i32 i32) -> i32` | Lists many folders at once (`crate::fs::listing` has the request and answer formats); the host keeps the answer and writes its length as u32 LE at `len_out`. Every folder on a path is opened without following a link. |
//! | `take_listing(out_ptr, out_len) -> status` | `(i32 i32) -> i32` | Copies the kept answer (exactly `out_len` bytes) to `out_ptr` and forgets it. |
//!
//! Status: 0 ok, 1 not found, 2 refused (outside the cache, a link, a bad path), 3 not a
//! regular file, 4 other I/O error, 5 bad arguments (memory out of range, unknown
//! algorithm), 6 unsupported.
//!
//! Imports cannot be optional in WebAssembly, so a module that uses them only runs in
//! our own hosts. The `pure-hash` feature builds the module without them: it hashes in
//! wasm (about a quarter of the speed) and reports lock states as unknown, and it runs in
//! any WASI preview1 runtime. Native builds (tests, the host's rlib) hash in-process.

use std::path::Path;

use crate::digest::{Algo, FileDigest};
use crate::fs::CacheFs;

/// Why a capability call failed; the number is the ABI status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    /// Nothing at that path.
    #[error("it vanished during the audit")]
    NotFound,
    /// The path is outside the cache, a link, or malformed.
    #[error("the host refused to open it (outside the cache or a link)")]
    Refused,
    /// A folder, a device, a fifo.
    #[error("it is not a regular file")]
    NotAFile,
    /// The file system failed (permissions, I/O).
    #[error("it cannot be read")]
    Io,
    /// The call itself was malformed.
    #[error("the host rejected the request")]
    BadArgs,
    /// The host cannot do this here.
    #[error("the host cannot do this here")]
    Unsupported,
}

impl CapError {
    /// The ABI status number.
    pub fn code(self) -> u32 {
        match self {
            Self::NotFound => 1,
            Self::Refused => 2,
            Self::NotAFile => 3,
            Self::Io => 4,
            Self::BadArgs => 5,
            Self::Unsupported => 6,
        }
    }

    /// From an ABI status (`0` is success, not an error).
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::NotFound,
            2 => Self::Refused,
            3 => Self::NotAFile,
            4 => Self::Io,
            5 => Self::BadArgs,
            6 => Self::Unsupported,
            _ => return None,
        })
    }

    /// The status for an I/O error from opening or reading a file.
    pub fn from_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::NotFound => Self::NotFound,
            ErrorKind::IsADirectory | ErrorKind::NotADirectory => Self::NotAFile,
            _ if crate::fs::is_sandbox_refusal(e) => Self::Refused,
            _ => Self::Io,
        }
    }
}

/// Who holds a lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Nobody: the file is a leftover (huggingface_hub never deletes its lock files).
    Free,
    /// A live process holds an flock on it.
    Held,
    /// The host cannot probe locks here (no flock, or a runtime without the capability).
    Unknown,
}

/// Whether `rel` is a path the ABI accepts: relative, `/`-separated, no `.`/`..`/empty
/// components, no NUL. Hosts apply the same rule before touching the disk.
pub fn is_valid_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains(['\0', '\\'])
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The ABI form of a cache-relative path.
fn wire_path(rel: &Path) -> Result<&str, CapError> {
    rel.to_str()
        .filter(|s| is_valid_path(s))
        .ok_or(CapError::Refused)
}

#[cfg(all(target_os = "wasi", not(feature = "pure-hash")))]
mod imp {
    use super::{Algo, CacheFs, CapError, FileDigest, Listings, LockState, Path, wire_path};

    #[link(wasm_import_module = "mlxk_host_v1")]
    unsafe extern "C" {
        #[link_name = "hash_file"]
        fn host_hash_file(path_ptr: *const u8, path_len: usize, algo: u32, out: *mut u8) -> u32;
        #[link_name = "probe_lock"]
        fn host_probe_lock(path_ptr: *const u8, path_len: usize, out: *mut u8) -> u32;
        #[link_name = "hash_files"]
        fn host_hash_files(req: *const u8, req_len: usize, out: *mut u8) -> u32;
        #[link_name = "progress_begin"]
        fn host_progress_begin(total_bytes: u64, files: u64);
        #[link_name = "list_dirs"]
        fn host_list_dirs(req: *const u8, req_len: usize, len_out: *mut u32) -> u32;
        #[link_name = "take_listing"]
        fn host_take_listing(out: *mut u8, out_len: usize) -> u32;
    }

    pub fn list_dirs(dirs: &[(&Path, bool)]) -> Result<Listings, CapError> {
        let mut request = Vec::new();
        for (rel, recursive) in dirs {
            crate::fs::listing::encode_request(&mut request, wire_path(rel)?, *recursive);
        }
        let mut len = 0u32;
        // SAFETY: `request` is valid for its length; the host writes 4 bytes to `len`.
        status(unsafe { host_list_dirs(request.as_ptr(), request.len(), &mut len) })?;
        let mut answer = vec![0u8; len as usize];
        // SAFETY: `answer` has exactly `len` writable bytes.
        status(unsafe { host_take_listing(answer.as_mut_ptr(), answer.len()) })?;
        crate::fs::listing::decode_answer(&answer).ok_or(CapError::BadArgs)
    }

    fn status(code: u32) -> Result<(), CapError> {
        match code {
            0 => Ok(()),
            other => Err(CapError::from_code(other).unwrap_or(CapError::Io)),
        }
    }

    pub fn hash_file(_fs: &CacheFs, rel: &Path, algo: Algo) -> Result<FileDigest, CapError> {
        let path = wire_path(rel)?;
        let mut out = [0u8; 40];
        // SAFETY: `path` and `out` are valid for the lengths passed; the host writes at
        // most 40 bytes to `out`.
        status(unsafe {
            host_hash_file(path.as_ptr(), path.len(), algo.code(), out.as_mut_ptr())
        })?;
        let bytes = u64::from_le_bytes(out[32..40].try_into().unwrap_or_default());
        Ok(FileDigest {
            hex: crate::digest::to_hex(&out[..algo.digest_len()]),
            bytes,
        })
    }

    pub fn hash_files(_fs: &CacheFs, files: &[(&Path, Algo)]) -> Vec<Result<FileDigest, CapError>> {
        let mut request = Vec::new();
        let mut valid = Vec::with_capacity(files.len());
        for (rel, algo) in files {
            let path = wire_path(rel);
            valid.push(path.map(|_| ()));
            let path = path.unwrap_or("");
            request.extend_from_slice(&algo.code().to_le_bytes());
            request.extend_from_slice(&(path.len() as u32).to_le_bytes());
            request.extend_from_slice(path.as_bytes());
        }
        let mut out = vec![0u8; files.len() * super::RECORD];
        // SAFETY: `request` and `out` are valid for the lengths passed; the host writes
        // exactly 44 bytes per record into `out`.
        if let Err(e) =
            status(unsafe { host_hash_files(request.as_ptr(), request.len(), out.as_mut_ptr()) })
        {
            return files.iter().map(|_| Err(e)).collect();
        }
        files
            .iter()
            .zip(valid)
            .zip(out.chunks_exact(super::RECORD))
            .map(|(((_, algo), valid), rec)| {
                valid?;
                super::decode_record(*algo, rec)
            })
            .collect()
    }

    pub fn probe_lock(_fs: &CacheFs, rel: &Path) -> Result<LockState, CapError> {
        let path = wire_path(rel)?;
        let mut out = 0u8;
        // SAFETY: `path` is valid for its length; the host writes one byte to `out`.
        match status(unsafe { host_probe_lock(path.as_ptr(), path.len(), &mut out) }) {
            Ok(()) if out == 1 => Ok(LockState::Held),
            Ok(()) => Ok(LockState::Free),
            Err(CapError::Unsupported) => Ok(LockState::Unknown),
            Err(e) => Err(e),
        }
    }

    pub fn progress_begin(total_bytes: u64, files: u64) {
        // SAFETY: plain values.
        unsafe { host_progress_begin(total_bytes, files) }
    }
}

#[cfg(not(all(target_os = "wasi", not(feature = "pure-hash"))))]
mod imp {
    use super::{Algo, CacheFs, CapError, FileDigest, LockState, Path, wire_path};

    pub fn hash_file(fs: &CacheFs, rel: &Path, algo: Algo) -> Result<FileDigest, CapError> {
        wire_path(rel)?;
        let file = fs.open_file(rel).map_err(|e| CapError::from_io(&e))?;
        let meta = file.metadata().map_err(|e| CapError::from_io(&e))?;
        if !meta.is_file() {
            return Err(CapError::NotAFile);
        }
        crate::digest::hash_reader(algo, meta.len(), file).map_err(|e| CapError::from_io(&e))
    }

    pub fn hash_files(fs: &CacheFs, files: &[(&Path, Algo)]) -> Vec<Result<FileDigest, CapError>> {
        files
            .iter()
            .map(|(rel, algo)| hash_file(fs, rel, *algo))
            .collect()
    }

    pub fn probe_lock(fs: &CacheFs, rel: &Path) -> Result<LockState, CapError> {
        wire_path(rel)?;
        let file = fs.open_file(rel).map_err(|e| CapError::from_io(&e))?;
        Ok(super::lock_state(&file))
    }

    pub fn progress_begin(_total_bytes: u64, _files: u64) {}

    pub fn list_dirs(_dirs: &[(&Path, bool)]) -> Result<super::Listings, CapError> {
        // Native builds read folders in-process; a stock WASI runtime has no such import.
        Err(CapError::Unsupported)
    }
}

/// Who holds an flock on an open file, by trying to take one without waiting (the
/// mechanism huggingface_hub's `filelock` uses). Closing `file` releases the probe.
pub fn lock_state(file: &std::fs::File) -> LockState {
    use std::fs::TryLockError;
    // Exclusive conflicts with any holder, shared or exclusive.
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            LockState::Free
        }
        Err(TryLockError::WouldBlock) => LockState::Held,
        Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
            LockState::Unknown
        }
        // Some file systems (NFS) want write access for an exclusive lock.
        Err(TryLockError::Error(_)) => match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                LockState::Free
            }
            Err(TryLockError::WouldBlock) => LockState::Held,
            Err(TryLockError::Error(_)) => LockState::Unknown,
        },
    }
}

/// The digest of the regular file at `rel` (cache-relative, link-free).
pub fn hash_file(fs: &CacheFs, rel: &Path, algo: Algo) -> Result<FileDigest, CapError> {
    imp::hash_file(fs, rel, algo)
}

/// The digests of several files, hashed in parallel where the host can.
pub fn hash_files(fs: &CacheFs, files: &[(&Path, Algo)]) -> Vec<Result<FileDigest, CapError>> {
    imp::hash_files(fs, files)
}

/// Bytes per result record of `hash_files`.
pub const RECORD: usize = 44;

/// Encodes one `hash_files` result record (status, digest, bytes).
pub fn encode_record(result: &Result<FileDigest, CapError>) -> [u8; RECORD] {
    let mut rec = [0u8; RECORD];
    match result {
        Ok(d) => {
            let raw: Vec<u8> = (0..d.hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(d.hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            rec[4..4 + raw.len()].copy_from_slice(&raw);
            rec[36..].copy_from_slice(&d.bytes.to_le_bytes());
        }
        Err(e) => rec[..4].copy_from_slice(&e.code().to_le_bytes()),
    }
    rec
}

/// Decodes one `hash_files` result record.
pub fn decode_record(algo: Algo, rec: &[u8]) -> Result<FileDigest, CapError> {
    let word = |r: std::ops::Range<usize>| rec.get(r).ok_or(CapError::BadArgs);
    let code = u32::from_le_bytes(word(0..4)?.try_into().map_err(|_| CapError::BadArgs)?);
    if code != 0 {
        return Err(CapError::from_code(code).unwrap_or(CapError::Io));
    }
    let bytes = u64::from_le_bytes(word(36..44)?.try_into().map_err(|_| CapError::BadArgs)?);
    Ok(FileDigest {
        hex: crate::digest::to_hex(word(4..4 + algo.digest_len())?),
        bytes,
    })
}

/// Whether a live process holds the lock file at `rel`.
pub fn probe_lock(fs: &CacheFs, rel: &Path) -> Result<LockState, CapError> {
    imp::probe_lock(fs, rel)
}

/// Listings by cache-relative folder path.
pub type Listings = std::collections::HashMap<String, crate::fs::listing::Listing>;

/// Many folders listed in one host call (`recursive`: their real sub-folders too); only
/// our own hosts can (elsewhere `Unsupported`, and callers read folder by folder).
pub fn list_dirs(dirs: &[(&Path, bool)]) -> Result<Listings, CapError> {
    imp::list_dirs(dirs)
}

/// Tells the host how much hashing is ahead (progress display).
pub fn progress_begin(total_bytes: u64, files: u64) {
    imp::progress_begin(total_bytes, files);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rule() {
        assert!(is_valid_path("models--a--b/blobs/abc"));
        assert!(!is_valid_path(""));
        assert!(!is_valid_path("/etc/passwd"));
        assert!(!is_valid_path("a/../b"));
        assert!(!is_valid_path("../x"));
        assert!(!is_valid_path("a//b"));
        assert!(!is_valid_path("./a"));
        assert!(!is_valid_path("a\\b"));
        assert!(!is_valid_path("a\0b"));
    }

    #[test]
    fn codes_round_trip() {
        for e in [
            CapError::NotFound,
            CapError::Refused,
            CapError::NotAFile,
            CapError::Io,
            CapError::BadArgs,
            CapError::Unsupported,
        ] {
            assert_eq!(CapError::from_code(e.code()), Some(e));
        }
        assert_eq!(CapError::from_code(0), None);
    }
}

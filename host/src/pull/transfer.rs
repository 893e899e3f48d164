//! One file from the Hub into the cache, verified before it exists as a blob: the bytes
//! go to `blobs/<etag>.incomplete` under the repo's flock, are hashed while they stream
//! (on a second thread, so hashing overlaps the network), and only a file whose size
//! and sha256 / git sha1 match the listing is renamed to `blobs/<etag>` and linked into
//! the snapshot. An interrupted transfer keeps its `.incomplete`; the next attempt, in
//! this run or the next, continues it with `Range`.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::mpsc;
use std::time::Duration;

use core_wasm::digest::{self, Hasher};
use core_wasm::error::CoreError;
use core_wasm::fetch::{Placement, RemoteFile};
use core_wasm::hub::TransferFailure;

use super::hub::{self, Hub, HubError};
use super::store::{CacheWriter, io_error};

/// Bytes read from the network per chunk handed to the hashing thread.
const CHUNK: usize = 256 << 10;
/// Chunks in flight between the network and the hashing thread.
const IN_FLIGHT: usize = 4;

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The snapshot already had it, or a verified blob was linked.
    Reused,
    /// Bytes came over the network (this many in this run).
    Downloaded(u64),
}

/// What a transfer needs besides the file.
pub struct Job<'a> {
    /// The Hub.
    pub hub: &'a Hub,
    /// The cache.
    pub cache: &'a CacheWriter,
    /// The repo id (for messages).
    pub repo: &'a str,
    /// How long to wait for another process's lock.
    pub lock_timeout: Duration,
    /// Called with each chunk's size as it arrives.
    pub on_bytes: &'a (dyn Fn(u64) + Sync),
    /// Turns a Hub error on this file into the envelope's error.
    pub hub_error: &'a (dyn Fn(&str, HubError) -> CoreError + Sync),
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

/// Messages to the hashing thread.
enum Msg {
    Data(Vec<u8>),
    /// Start over (the server ignored `Range`, or the partial was unusable).
    Reset,
}

/// Makes sure `file` is in the snapshot at `place`, downloading it if needed.
pub fn fetch(
    job: &Job<'_>,
    url: &str,
    file: &RemoteFile,
    place: &Placement,
) -> Result<Fetched, CoreError> {
    let cache = job.cache;
    if snapshot_has(cache, file, place) {
        return Ok(Fetched::Reused);
    }
    let _lock = cache.lock(&place.lock, job.lock_timeout)?;
    // Another process may have finished it while we waited, or an earlier run left a
    // blob without its link: link it once its bytes are proven.
    if let Some(len) = cache.file_len(&place.blob) {
        if len == file.size && verify_existing(cache, file, place)? {
            cache.link(&place.link_target, &place.pointer)?;
            return Ok(Fetched::Reused);
        }
        cache.remove(&place.blob)?;
    }
    let received = download(job, url, file, place).inspect_err(|_| {
        // A failure before the first byte leaves no empty partial for the audit to report.
        if cache.file_len(&place.incomplete) == Some(0) {
            let _ = cache.remove(&place.incomplete);
        }
    })?;
    cache.rename(&place.incomplete, &place.blob)?;
    cache.link(&place.link_target, &place.pointer)?;
    Ok(Fetched::Downloaded(received))
}

/// Whether the snapshot entry is already what the listing says: a link to the right
/// blob of the right size, or (no-symlink layout) a plain file of the right size.
fn snapshot_has(cache: &CacheWriter, file: &RemoteFile, place: &Placement) -> bool {
    match cache.link_target(&place.pointer) {
        Some(target) => {
            target.to_str() == Some(place.link_target.as_str())
                && cache.file_len(&place.blob) == Some(file.size)
        }
        None => cache.file_len(&place.pointer) == Some(file.size),
    }
}

fn verify_existing(
    cache: &CacheWriter,
    file: &RemoteFile,
    place: &Placement,
) -> Result<bool, CoreError> {
    let f = cache
        .open_read(&place.blob)
        .map_err(|e| io_error(&place.blob, &e))?;
    let d =
        digest::hash_reader(file.algo(), file.size, f).map_err(|e| io_error(&place.blob, &e))?;
    Ok(d.bytes == file.size && d.hex == file.etag())
}

/// Downloads into `place.incomplete` until it holds exactly the listed bytes; returns
/// the bytes received in this run. The partial file is deleted only when its content is
/// proven wrong (a checksum mismatch or more bytes than listed).
fn download(
    job: &Job<'_>,
    url: &str,
    file: &RemoteFile,
    place: &Placement,
) -> Result<u64, CoreError> {
    let cache = job.cache;
    let rel = &place.incomplete;
    let mut out = cache.open_partial(rel)?;
    let io = |e: std::io::Error| io_error(rel, &e);
    let mut have = out.metadata().map_err(io)?.len();
    if have > file.size {
        out.set_len(0).map_err(io)?;
        have = 0;
    }
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Msg>(IN_FLIGHT);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        let (algo, size) = (file.algo(), file.size);
        let hashing = scope.spawn(move || {
            let mut h = Hasher::new(algo, size);
            for msg in rx {
                match msg {
                    Msg::Data(buf) => {
                        h.update(&buf);
                        let _ = back_tx.send(buf);
                    }
                    Msg::Reset => h = Hasher::new(algo, size),
                }
            }
            h.finish()
        });
        let mut pool = 0;
        let mut buffer = || match back_rx.try_recv() {
            Ok(b) => b,
            Err(_) if pool < IN_FLIGHT + 2 => {
                pool += 1;
                vec![0u8; CHUNK]
            }
            Err(_) => back_rx.recv().unwrap_or_else(|_| vec![0u8; CHUNK]),
        };
        let feed = |buf: Vec<u8>| {
            tx.send(Msg::Data(buf))
                .map_err(|_| CoreError::PullFailed("the hashing thread stopped".into()))
        };

        // What an earlier attempt left: hash it again to continue where it stopped.
        if have > 0 {
            out.seek(SeekFrom::Start(0)).map_err(io)?;
            let mut reader = (&out).take(have);
            loop {
                let mut buf = buffer();
                buf.resize(CHUNK, 0);
                let n = hub::read_full(&mut reader, &mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                feed(buf)?;
            }
        }
        out.seek(SeekFrom::Start(have)).map_err(io)?;

        let mut received = 0u64;
        let mut failures = 0u32;
        // The furthest byte any attempt reached: only going past it is progress (a server
        // that restarts from 0 and drops at the same place again is not).
        let mut furthest = have;
        let mut last_error = String::new();
        while have < file.size {
            let resp = job
                .hub
                .get(url, (have > 0).then_some(have))
                .map_err(|e| (job.hub_error)(&file.path, e))?;
            let status = resp.status().as_u16();
            let starts_at = match status {
                206 => content_range_start(&resp),
                416 => None,
                _ => Some(0),
            };
            if starts_at != Some(have) {
                // The server ignored `Range`, or answered another range: start over.
                out.set_len(0).map_err(io)?;
                out.seek(SeekFrom::Start(0)).map_err(io)?;
                tx.send(Msg::Reset)
                    .map_err(|_| CoreError::PullFailed("the hashing thread stopped".into()))?;
                have = 0;
                if status != 200 {
                    failures += 1;
                    last_error = format!("HTTP {status} to a range request");
                    if failures >= job.hub.retry.attempts {
                        break;
                    }
                    continue;
                }
            }
            let mut body = resp.into_body().into_reader();
            loop {
                let mut buf = buffer();
                buf.resize(CHUNK, 0);
                let n = match hub::read_full(&mut body, &mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        last_error = if hub::is_timeout(&e) {
                            hub::stalled(job.hub.retry.stall)
                        } else {
                            e.to_string()
                        };
                        break;
                    }
                };
                if n == 0 {
                    break;
                }
                if have + n as u64 > file.size {
                    drop(body);
                    let _ = cache.remove(rel);
                    return Err(TransferFailure::TooLong.to_error(job.repo, &file.into()));
                }
                buf.truncate(n);
                out.write_all(&buf).map_err(io)?;
                feed(buf)?;
                have += n as u64;
                received += n as u64;
                (job.on_bytes)(n as u64);
            }
            if have < file.size {
                // A dropped connection; new bytes reset the count, as huggingface_hub
                // does, so a slow but moving transfer never gives up.
                if have > furthest {
                    furthest = have;
                    failures = 0;
                }
                failures += 1;
                if last_error.is_empty() {
                    last_error = "the connection closed early".into();
                }
                if failures >= job.hub.retry.attempts {
                    break;
                }
                std::thread::sleep(job.hub.retry.delay(failures, None));
            }
        }
        drop(tx);
        let actual = hashing
            .join()
            .map_err(|_| CoreError::PullFailed("the hashing thread failed".into()))?;
        if have < file.size {
            out.flush().map_err(io)?;
            let failure = TransferFailure::Incomplete {
                reason: last_error,
                have,
            };
            return Err(failure.to_error(job.repo, &file.into()));
        }
        if actual != file.etag() {
            drop(out);
            let _ = cache.remove(rel);
            return Err(TransferFailure::Checksum { actual }.to_error(job.repo, &file.into()));
        }
        Ok(received)
    })
}

/// The first byte of a `206`'s `Content-Range: bytes START-END/TOTAL`.
fn content_range_start(resp: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    let range = v.trim().strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

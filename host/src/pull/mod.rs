//! The network half of `pull`: resolve the revision on the Hub, list its files, fetch the
//! missing ones side by side, and record the commit exactly as huggingface_hub 2.x does
//! (`trees/<commit>.json`, relative snapshot links, `refs/<rev>` last). The guest decided
//! beforehand that the network is needed, and checks the result's health afterwards.

pub mod hub;
pub mod progress;
pub mod store;
pub mod transfer;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use core_wasm::error::CoreError;
use core_wasm::fetch::{self, RemoteFile};
use core_wasm::layout;

use core_wasm::hub::{file_error, gated};

use self::hub::{Hub, HubError, RetryPolicy};
use self::progress::Progress;
use self::store::CacheWriter;
use self::transfer::{Fetched, Job};

/// Everything a download needs to know.
#[derive(Debug, Clone)]
pub struct Request {
    /// The Hub repo id.
    pub repo_id: String,
    /// Branch, tag or commit.
    pub revision: String,
    /// The cache to write.
    pub cache_dir: PathBuf,
    /// The Hub.
    pub endpoint: String,
    /// The token, if any.
    pub token: Option<String>,
    /// Files fetched at once.
    pub jobs: usize,
    /// Retries.
    pub retry: RetryPolicy,
    /// How long to wait for another process's lock on a blob.
    pub lock_timeout: Duration,
    /// Draw progress bars (human mode).
    pub progress: bool,
    /// The files to take (all, unless `--include` / `--exclude`).
    pub selection: core_wasm::selection::Selection,
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The 40-hex commit.
    pub commit: String,
    /// The snapshot folder, absolute.
    pub snapshot: PathBuf,
    /// Files the commit has.
    pub files: u64,
    /// Files fetched over the network.
    pub downloaded: u64,
    /// Bytes received.
    pub bytes: u64,
}

/// Why a download stopped, and what was known by then.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The envelope's error (boxed: the variants with file names and hashes are large).
    pub error: Box<CoreError>,
    /// `access_denied` or `failed`.
    pub download_status: &'static str,
    /// Set when the first request failed (the reference's `preflight_warning`).
    pub preflight_warning: Option<String>,
    /// The commit, once resolved.
    pub commit: Option<String>,
}

impl Failure {
    fn new(error: CoreError) -> Self {
        let download_status = match error {
            CoreError::AccessDenied(_) => "access_denied",
            _ => "failed",
        };
        Self {
            error: Box::new(error),
            download_status,
            preflight_warning: None,
            commit: None,
        }
    }
}

/// Runs the download.
pub fn pull(req: &Request) -> Result<Done, Failure> {
    let hub = Hub::new(&req.endpoint, req.token.clone(), req.retry);
    let repo = req.repo_id.as_str();

    // Preflight: nothing is written before the Hub has said yes.
    let info = hub.revision(repo, &req.revision).map_err(|e| {
        let (error, warning) = core_wasm::hub::revision_error(repo, &req.revision, e);
        let mut f = Failure::new(error);
        f.preflight_warning = warning;
        f
    })?;
    let commit = info.sha;
    let with_commit = |mut f: Failure| {
        f.commit = Some(commit.clone());
        f
    };
    let listing = hub
        .tree(repo, &commit)
        .map_err(|e| with_commit(Failure::new(file_error(repo, "tree listing", e))))?;
    let files = core_wasm::hub::select(repo, &req.revision, &listing, &req.selection)
        .map_err(|e| with_commit(Failure::new(e)))?;
    // A gated repo shows its listing to everyone: make sure the files are ours to take
    // (a HEAD of the smallest one) before the cache gets a folder for them.
    if info.gated
        && let Some(first) = files.iter().min_by_key(|f| f.size)
    {
        let url = hub.file_url(repo, &commit, &first.path);
        let resp = hub
            .send_once(true, &url, None)
            .map_err(|e| with_commit(Failure::new(file_error(repo, &first.path, e))))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(with_commit(Failure::new(gated(repo))));
        }
    }

    let cache =
        CacheWriter::open_or_create(&req.cache_dir).map_err(|e| with_commit(Failure::new(e)))?;
    let folder = fetch::model_folder(repo);
    let prepare = || -> Result<(), CoreError> {
        cache.ensure_tag()?;
        cache.mkdirs(&layout::blobs_dir(&folder))?;
        cache.mkdirs(&layout::snapshot_dir(&folder, &commit))?;
        let tree = layout::tree_path(&folder, &commit);
        if cache.file_len(&tree).is_none() {
            cache.write_atomic(&tree, &fetch::tree_json(&listing))?;
        }
        Ok(())
    };
    prepare().map_err(|e| with_commit(Failure::new(e)))?;

    let (downloaded, bytes) = fetch_all(req, &hub, &cache, &folder, &commit, &files)
        .map_err(|e| with_commit(Failure::new(e)))?;

    // The ref comes last: it only ever names a complete snapshot.
    if !req.revision.eq_ignore_ascii_case(&commit) {
        cache
            .write_ref(&layout::ref_path(&folder, &req.revision), &commit)
            .map_err(|e| with_commit(Failure::new(e)))?;
    }
    let snapshot = std::path::absolute(cache.path())
        .unwrap_or_else(|_| cache.path().to_path_buf())
        .join(layout::snapshot_dir(&folder, &commit));
    Ok(Done {
        commit,
        snapshot,
        files: files.len() as u64,
        downloaded,
        bytes,
    })
}

/// Fetches every file, `req.jobs` at a time, largest first; the first error stops the
/// others from starting new files. Returns files downloaded and bytes received.
fn fetch_all(
    req: &Request,
    hub: &Hub,
    cache: &CacheWriter,
    folder: &str,
    commit: &str,
    files: &[RemoteFile],
) -> Result<(u64, u64), CoreError> {
    let mut order: Vec<&RemoteFile> = files.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let total: u64 = files.iter().map(|f| f.size).sum();
    let progress = Progress::new(req.progress, total, files.len(), &req.repo_id);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, CoreError)>> = Mutex::new(None);
    let downloaded = AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let repo = req.repo_id.as_str();
    let hub_error = |path: &str, e: HubError| file_error(repo, path, e);
    std::thread::scope(|scope| {
        for _ in 0..req.jobs.clamp(1, 32).min(order.len().max(1)) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = order.get(i) else { break };
                    let bar = progress.file(&file.path, file.size);
                    let on_bytes = |n: u64| bar.inc(n);
                    let job = Job {
                        hub,
                        cache,
                        repo,
                        lock_timeout: req.lock_timeout,
                        on_bytes: &on_bytes,
                        hub_error: &hub_error,
                    };
                    let place = fetch::placement(folder, commit, file);
                    let url = hub.file_url(repo, commit, &file.path);
                    match transfer::fetch(&job, &url, file, &place) {
                        Ok(Fetched::Reused) => bar.done(file.size),
                        Ok(Fetched::Downloaded(n)) => {
                            downloaded.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(n, Ordering::Relaxed);
                            bar.done(file.size.saturating_sub(n));
                        }
                        Err(e) => {
                            bar.done(0);
                            stop.store(true, Ordering::Relaxed);
                            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                                *slot = Some((i, e));
                            }
                        }
                    }
                }
            });
        }
    });
    progress.finish();
    if let Some((_, e)) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok((downloaded.into_inner() as u64, bytes.into_inner()))
}

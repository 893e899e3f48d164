//! The sandbox: core-wasm under wasmtime, with the cache as its only capability.
//!
//! Each call gets a fresh store whose WASI context holds argv, one preopen (the cache as
//! `/cache`, read-only unless the command writes), no environment, no stdin, no network,
//! and capped in-memory stdout/stderr. Beyond WASI it gets the `mlxk_host_v1` imports
//! of [`crate::capabilities`], bound to the same cache. Guest memory is capped by `StoreLimits`, and its
//! wall-clock time by an epoch deadline.
//!
//! Compiling the module with Cranelift costs ~100 ms, so the compiled artifact is cached
//! on disk outside the HF cache. An entry is trusted only if its header names this
//! module's hash and this wasmtime version and its payload hashes to what the header
//! says; anything else is recompiled and replaced atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

/// Filesystem permissions of the cache preopen.
pub use wasmtime_wasi::FsPerms;

use crate::capabilities::{self, CacheCaps, HasCaps};

/// The guest module, embedded at build time.
pub static CORE_WASM: &[u8] = include_bytes!(env!("CORE_WASM_PATH"));

/// The wasmtime version compiled artifacts are tied to.
const WASMTIME_VERSION: &str = "48.0.8";
/// Magic at the start of a cached artifact.
const MAGIC: &[u8; 8] = b"MLXKCW01";
/// Most bytes the guest may print on stdout.
const STDOUT_CAP: usize = 512 << 20;
/// Most bytes the guest may print on stderr.
const STDERR_CAP: usize = 1 << 20;
/// Epoch tick for the deadline.
const TICK: Duration = Duration::from_millis(50);

/// Limits for one guest run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest linear memory.
    pub memory_bytes: usize,
    /// Wall-clock budget.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 1 << 30,
            timeout: Duration::from_secs(600),
        }
    }
}

/// A folder besides the cache the guest sees, and where.
#[derive(Debug, Clone, Copy)]
pub struct Preopen<'a> {
    /// The host folder.
    pub dir: &'a Path,
    /// Where the guest sees it (`/workspace`, `/target`).
    pub guest: &'static str,
    /// Read-only, or writable for the one call that writes there.
    pub perms: FsPerms,
}

/// What a guest run produced.
#[derive(Debug)]
pub struct GuestOutput {
    /// Exit code (0, 1 or 2).
    pub code: i32,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

/// Why a guest run did not produce an output.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    /// The epoch deadline passed.
    #[error("the command did not finish within {0} s")]
    Timeout(u64),
    /// The guest tried to grow memory past the limit or trapped.
    #[error("the command was stopped: {0}")]
    Trapped(String),
    /// The host could not set the sandbox up.
    #[error("{0:#}")]
    Setup(anyhow::Error),
}

impl GuestFailure {
    /// The stable `error.type` of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "guest_timeout",
            Self::Trapped(_) => "guest_trapped",
            Self::Setup(_) => "InternalError",
        }
    }
}

struct HostState {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
    caps: CacheCaps,
}

impl HasCaps for HostState {
    fn caps(&mut self) -> &mut CacheCaps {
        &mut self.caps
    }
}

/// An engine and the compiled core module, ready to run commands.
pub struct Runtime {
    engine: Engine,
    module: Module,
    linker: Linker<HostState>,
}

impl Runtime {
    /// Builds the engine and loads the module, from `cache_dir` when a valid artifact is there.
    pub fn new(cache_dir: Option<&Path>) -> Result<Self> {
        let engine = engine()?;
        let module = load_module(&engine, cache_dir)?;
        Self::assemble(engine, module)
    }

    /// A runtime for another module under the same sandbox and capabilities (the tests
    /// use it to prove what a hostile guest can and cannot reach).
    pub fn with_module(wasm: &[u8]) -> Result<Self> {
        let engine = engine()?;
        let module = Module::new(&engine, wasm).map_err(|e| anyhow!("{e}"))?;
        Self::assemble(engine, module)
    }

    fn assemble(engine: Engine, module: Module) -> Result<Self> {
        let mut linker: Linker<HostState> = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |s: &mut HostState| &mut s.wasi)
            .map_err(|e| anyhow!("{e}"))?;
        capabilities::add_to_linker(&mut linker).map_err(|e| anyhow!("{e}"))?;
        Ok(Self {
            engine,
            module,
            linker,
        })
    }

    /// Runs the guest with `argv`, the cache preopened as `/cache` when it exists.
    pub fn run(
        &self,
        argv: &[String],
        cache: Option<&Path>,
        mounts: &[Preopen<'_>],
        perms: FsPerms,
        limits: Limits,
        progress: bool,
    ) -> Result<GuestOutput, GuestFailure> {
        let stdout = MemoryOutputPipe::new(STDOUT_CAP);
        let stderr = MemoryOutputPipe::new(STDERR_CAP);
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(argv)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(true);
        if let Some(dir) = cache {
            builder
                .preopened_dir(dir, core_wasm::GUEST_CACHE_ROOT, perms)
                .map_err(|e| {
                    GuestFailure::Setup(anyhow!(
                        "Failed to open the cache at {}: {e}",
                        dir.display()
                    ))
                })?;
        }
        // The folders the user named (core-wasm's `workspace::mount` and `target`).
        for m in mounts {
            builder
                .preopened_dir(m.dir, m.guest, m.perms)
                .map_err(|e| {
                    GuestFailure::Setup(anyhow!("Failed to open {}: {e}", m.dir.display()))
                })?;
        }
        let caps = CacheCaps::new(cache, progress)
            .map_err(|e| GuestFailure::Setup(anyhow!("Failed to open the cache: {e}")))?;
        let state = HostState {
            caps,
            wasi: builder.build_p1(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(1)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = (limits.timeout.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);

        let done = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = self.engine.clone();
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    std::thread::park_timeout(TICK);
                    engine.increment_epoch();
                }
            })
        };
        let result = self
            .linker
            .instantiate(&mut store, &self.module)
            .and_then(|inst| inst.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|start| start.call(&mut store, ()));
        store.data_mut().caps.finish();
        done.store(true, Ordering::Relaxed);
        ticker.thread().unpark();
        let _ = ticker.join();
        drop(store);

        let code = match result {
            Ok(()) => 0,
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<I32Exit>() {
                    exit.0
                } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                    return Err(GuestFailure::Timeout(limits.timeout.as_secs()));
                } else {
                    return Err(GuestFailure::Trapped(format!("{e:#}")));
                }
            }
        };
        Ok(GuestOutput {
            code,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
        })
    }
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    Engine::new(&config).map_err(|e| anyhow!("{e}"))
}

/// The cache key of this module on this engine: the module's sha256 (computed at build
/// time), the wasmtime version and the architecture.
fn module_key() -> String {
    let mut h = Sha256::new();
    h.update(env!("CORE_WASM_SHA256").as_bytes());
    h.update(WASMTIME_VERSION.as_bytes());
    h.update(std::env::consts::ARCH.as_bytes());
    let digest = h.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Only our own, not group- or world-writable files are candidates: anything else may
/// have been written by someone else and is not even read.
#[cfg(unix)]
fn is_own_private_file(file: &fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata().is_ok_and(|m| {
        m.is_file() && m.uid() == rustix::process::geteuid().as_raw() && m.mode() & 0o022 == 0
    })
}

#[cfg(not(unix))]
fn is_own_private_file(file: &fs::File) -> bool {
    file.metadata().is_ok_and(|m| m.is_file())
}

fn load_module(engine: &Engine, cache_dir: Option<&Path>) -> Result<Module> {
    let key = module_key();
    let path = cache_dir.map(|d| d.join(format!("core-{key}.cwasm")));
    if let Some(path) = &path
        && let Some(module) = read_artifact(engine, path, &key)
    {
        return Ok(module);
    }
    let module = Module::new(engine, CORE_WASM).map_err(|e| anyhow!("{e}"))?;
    if let Some(path) = &path {
        // Best effort: a read-only home only costs the next call a compile.
        let _ = write_artifact(&module, path, &key);
    }
    Ok(module)
}

/// Header: MAGIC, key (32 ASCII bytes), sha256 of the payload (32 bytes), payload.
fn read_artifact(engine: &Engine, path: &Path, key: &str) -> Option<Module> {
    use std::io::Read;
    let mut file = fs::File::open(path).ok()?;
    if !is_own_private_file(&file) {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let header = MAGIC.len() + key.len() + 32;
    if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    if &bytes[MAGIC.len()..MAGIC.len() + key.len()] != key.as_bytes() {
        return None;
    }
    let (digest, payload) = bytes[MAGIC.len() + key.len()..].split_at(32);
    if Sha256::digest(payload).as_slice() != digest {
        return None;
    }
    // SAFETY: the payload is exactly what `Module::serialize` wrote for this module on
    // this wasmtime version (checked by key and hash above); `deserialize` still checks
    // engine and CPU compatibility and fails cleanly on a mismatch.
    #[allow(unsafe_code)]
    unsafe { Module::deserialize(engine, payload) }.ok()
}

fn write_artifact(module: &Module, path: &Path, key: &str) -> Result<PathBuf> {
    let dir = path.parent().context("artifact path has a parent")?;
    fs::create_dir_all(dir)?;
    let payload = module.serialize().map_err(|e| anyhow!("{e}"))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(MAGIC)?;
    tmp.write_all(key.as_bytes())?;
    tmp.write_all(&Sha256::digest(&payload))?;
    tmp.write_all(&payload)?;
    tmp.persist(path)?;
    // Older builds' artifacts are dead weight now: remove them (best effort).
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if p != path && name.starts_with("core-") && name.ends_with(".cwasm") {
                let _ = fs::remove_file(p);
            }
        }
    }
    Ok(path.to_path_buf())
}

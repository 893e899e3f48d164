//! Wiring from parsed arguments to a guest run, and the exit status.

pub mod clone;
pub mod completions;
pub mod convert;
pub mod health;
pub mod list;
pub mod prune;
pub mod pull;
pub mod rm;
pub mod run;
pub mod serve;
pub mod show;
pub mod version;

use std::path::{Path, PathBuf};

use core_wasm::protocol::{CommandName, Envelope, ErrorBody};
use core_wasm::workspace::mount::Mount;
use wasmtime_wasi::FsPerms;

use crate::env;
use crate::printer;
use crate::runtime::{GuestFailure, GuestOutput, Limits, Preopen, Runtime};

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exit 0.
    Success,
    /// Exit 1: the operation failed.
    Failure,
    /// Exit 2: usage error.
    Usage,
    /// Exit 130: Ctrl-C.
    Interrupted,
}

impl ExitStatus {
    /// From the guest's exit code.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Success,
            2 => Self::Usage,
            _ => Self::Failure,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Usage => Self::from(2),
            ExitStatus::Interrupted => Self::from(crate::engine::interrupt::EXIT_CODE),
        }
    }
}

/// What every command needs: where the cache is, and how output is wanted.
#[derive(Debug, Clone)]
pub struct Context {
    /// argv[0]'s base name (`mlxk` or `mlxk-json`).
    pub program: String,
    /// The resolved hub cache.
    pub cache_dir: PathBuf,
    /// Which setting named it.
    pub cache_origin: core_wasm::location::Origin,
    /// JSON output.
    pub json: bool,
    /// `-q`: answers and errors only.
    pub quiet: bool,
    /// `-v`: say more (the core says which cache; `list` adds columns).
    pub verbose: bool,
}

/// Reads a numeric limit from the environment.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// How long a command's work may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Metadata only: milliseconds to seconds, bounded by the default deadline.
    Quick,
    /// Reads every byte (`health --deep`): progress on a terminal, and no deadline
    /// unless `MLXK_TIMEOUT_SECS` sets one (a terabyte takes a quarter of an hour).
    Audit,
}

fn limits(work: Work) -> Limits {
    let mut limits = Limits::default();
    if work == Work::Audit {
        limits.timeout = std::time::Duration::from_secs(7 * 24 * 3600);
    }
    if let Some(secs) = env_number(env::EnvVars::MLXK_TIMEOUT_SECS) {
        limits.timeout = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(mib) = env_number(env::EnvVars::MLXK_MEMORY_MIB) {
        limits.memory_bytes = usize::try_from(mib.max(16) << 20).unwrap_or(usize::MAX);
    }
    limits
}

/// What the guest may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No filesystem at all.
    None,
    /// The cache, read-only.
    ReadCache,
    /// The cache, writable (`rm`).
    WriteCache,
}

/// Runs `args` (without argv[0]) in the sandbox and prints what it printed.
pub fn run_guest(
    ctx: &Context,
    command: CommandName,
    args: Vec<String>,
    access: Access,
    work: Work,
) -> ExitStatus {
    match capture_guest(ctx, args, access, work) {
        Ok(out) => {
            printer::stderr(&out.stderr);
            printer::stdout(&out.stdout);
            ExitStatus::from_code(out.code)
        }
        Err(failure) => {
            report_failure(ctx, command, &failure);
            ExitStatus::Failure
        }
    }
}

/// Runs `args` in `sandbox` and prints what the guest printed.
pub fn run_in(
    ctx: &Context,
    command: CommandName,
    sandbox: &Sandbox,
    args: Vec<String>,
    work: Work,
) -> ExitStatus {
    match capture_in(ctx, sandbox, args, work) {
        Ok(out) => {
            printer::stderr(&out.stderr);
            printer::stdout(&out.stdout);
            ExitStatus::from_code(out.code)
        }
        Err(failure) => {
            report_failure(ctx, command, &failure);
            ExitStatus::Failure
        }
    }
}

/// Runs `args` (without argv[0]) in the sandbox and returns what it printed.
pub fn capture_guest(
    ctx: &Context,
    args: Vec<String>,
    access: Access,
    work: Work,
) -> Result<GuestOutput, GuestFailure> {
    let mount = workspace_mount(&args);
    let writes = args_write_workspace(&args);
    let mut sandbox = Sandbox::for_cache(ctx, access);
    if let Some((dir, m)) = mount {
        sandbox.options.extend(m.to_args());
        // Writable only for the one command that writes there (`show --recalc-hash`).
        let perms = if writes {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        sandbox
            .mounts
            .push((dir, core_wasm::workspace::mount::GUEST_ROOT, perms));
    }
    if let Some(home) = home_mount(&args) {
        sandbox.options.push(format!(
            "{}{}",
            core_wasm::workspace::home::FLAG,
            home.display()
        ));
        let perms = if writes {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        sandbox
            .mounts
            .push((home, core_wasm::workspace::home::GUEST_ROOT, perms));
    }
    capture_in(ctx, &sandbox, args, work)
}

/// `MLXK_WORKSPACE_HOME`, for the commands that resolve names there, when it is a folder.
fn home_mount(args: &[String]) -> Option<PathBuf> {
    let command = args.first()?;
    if !["list", "health", "show", "rm", "run"].contains(&command.as_str()) {
        return None;
    }
    env::workspace_home(|k| std::env::var(k).ok())
        .filter(|h| h.is_dir)
        .map(|h| h.path)
}

/// What one guest run may see: a cache (the user's, or a temporary one `clone` fills),
/// the options that describe it, and the folders the user named.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// The folder preopened as `/cache`, and how.
    pub cache: Option<(PathBuf, FsPerms)>,
    /// Options before the command that tell the guest what it was given.
    pub options: Vec<String>,
    /// Other folders: host path, guest path, permissions.
    pub mounts: Vec<(PathBuf, &'static str, FsPerms)>,
}

impl Sandbox {
    /// The user's cache with `access`.
    pub fn for_cache(ctx: &Context, access: Access) -> Self {
        let mut options = Vec::new();
        if access != Access::None {
            options.extend(env::cache_location(&ctx.cache_dir, ctx.cache_origin).to_args());
        }
        let perms = match access {
            Access::WriteCache => FsPerms::ReadWrite,
            Access::None | Access::ReadCache => FsPerms::ReadOnly,
        };
        let cache = (access != Access::None && ctx.cache_dir.is_dir())
            .then(|| (ctx.cache_dir.clone(), perms));
        Self {
            cache,
            options,
            mounts: Vec::new(),
        }
    }
}

/// Runs `args` in `sandbox` and returns what the guest printed.
pub fn capture_in(
    ctx: &Context,
    sandbox: &Sandbox,
    mut args: Vec<String>,
    work: Work,
) -> Result<GuestOutput, GuestFailure> {
    let mut argv = vec![ctx.program.clone()];
    argv.extend(sandbox.options.iter().cloned());
    // After the host's options, which the core reads as one leading run.
    if ctx.quiet {
        argv.push("--quiet".to_owned());
    }
    if ctx.verbose {
        argv.push("--verbose".to_owned());
    }
    argv.append(&mut args);
    if ctx.json {
        argv.push("--json".into());
    }
    let (cache, perms) = match &sandbox.cache {
        Some((dir, perms)) => (Some(dir.as_path()), *perms),
        None => (None, FsPerms::ReadOnly),
    };
    let mounts: Vec<Preopen<'_>> = sandbox
        .mounts
        .iter()
        .map(|(dir, guest, perms)| Preopen {
            dir,
            guest,
            perms: *perms,
        })
        .collect();
    module_cache_dir(&ctx.cache_dir)
        .as_deref()
        .map_or_else(|| Runtime::new(None), |d| Runtime::new(Some(d)))
        .map_err(GuestFailure::Setup)
        .and_then(|rt| {
            let progress = work == Work::Audit && !ctx.json;
            rt.run(&argv, cache, &mounts, perms, limits(work), progress)
        })
}

/// Whether the command (`args[0]`) writes into the workspace it names.
fn args_write_workspace(args: &[String]) -> bool {
    let ends = args.iter().position(|a| a == "--").unwrap_or(args.len());
    args.first().is_some_and(|c| c == "show") && args[..ends].iter().any(|a| a == "--recalc-hash")
}

/// The folder the user named for a workspace command: the model or pattern after `--`
/// (where every command puts it) when it is an explicit path. See core-wasm's
/// `workspace::mount` for what the guest is told.
fn workspace_mount(args: &[String]) -> Option<(PathBuf, Mount)> {
    let command = args.first()?;
    let named = args.iter().skip_while(|a| *a != "--").nth(1)?.trim();
    if !core_wasm::resolve::is_explicit_path(named) {
        return None;
    }
    mount_for(command, Path::new(named))
}

/// The mount for `named`: the folder itself (links resolved, as 2.0.8 names workspaces by
/// their real path), or for `list` of something that is not a folder, the folder holding
/// it, with its last component as the name prefix.
pub fn mount_for(command: &str, named: &Path) -> Option<(PathBuf, Mount)> {
    let mount = |dir: PathBuf, prefix: Option<String>| {
        let root = dir.to_string_lossy().into_owned();
        Some((dir, Mount { root, prefix }))
    };
    if let Ok(dir) = std::fs::canonicalize(named)
        && dir.is_dir()
    {
        return mount(dir, None);
    }
    if command != "list" {
        return None;
    }
    let prefix = named.file_name()?.to_str()?.to_owned();
    let parent = named
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(parent).ok().filter(|d| d.is_dir())?;
    mount(dir, Some(prefix))
}

/// The module cache, unless it would sit inside the HF cache (nothing is written there).
fn module_cache_dir(hf_cache: &Path) -> Option<PathBuf> {
    let dir = env::module_cache_dir(|k| std::env::var(k).ok())?;
    (!dir.starts_with(hf_cache)).then_some(dir)
}

/// A host-side failure as the same kind of envelope the guest prints.
pub fn report_failure(ctx: &Context, command: CommandName, failure: &GuestFailure) {
    if ctx.json {
        let body = ErrorBody {
            kind: failure.code().to_owned(),
            message: failure.to_string(),
            matches: None,
            available_hashes: None,
            available_refs: None,
        };
        let env = Envelope::failure(Some(command), body, serde_json::Value::Null);
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        printer::stderr(format!("{}: Error: {failure}\n", command.as_str()).as_bytes());
    }
}

//! `mlxk convert`: the guest checks the source and the target (`convert --plan`, both
//! mounted read-only); the host creates the target folder the plan names; the guest then
//! does the work with the source read-only and the target writable, and nothing else.

use std::path::{Path, PathBuf};

use core_wasm::error::CoreError;
use core_wasm::protocol::{CommandName, Envelope, to_value};
use core_wasm::workspace::convert::ConvertPlan;
use core_wasm::workspace::target::{self, TargetMount};
use wasmtime_wasi::FsPerms;

use super::clone::check_mount;
use super::{Context, ExitStatus, Sandbox, Work, capture_in, report_failure};
use crate::cli::ConvertArgs;
use crate::env;
use crate::printer;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs a convert.
pub fn run(ctx: &Context, args: &ConvertArgs) -> ExitStatus {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let home = env::workspace_home(var);
    let (source, source_abs) =
        target::convert_path(&args.source, home.as_ref(), true, &cwd, Path::is_dir);
    let (target_typed, target_abs) =
        target::convert_path(&args.target, home.as_ref(), false, &cwd, Path::is_dir);

    let mut flags = Vec::new();
    if args.repair_index {
        flags.push("--repair-index".to_owned());
    }
    if let Some(q) = &args.quantize {
        flags.extend(["--quantize".to_owned(), q.clone()]);
    }
    if let Some(g) = &args.q_group_size {
        flags.extend(["--q-group-size".to_owned(), g.clone()]);
    }
    if args.skip_health {
        flags.push("--skip-health".to_owned());
    }

    // The source, read-only, when it is a folder; otherwise what is there instead.
    let mut base = Sandbox {
        cache: None,
        options: env::cache_location(&ctx.cache_dir, ctx.cache_origin).to_args(),
        mounts: Vec::new(),
    };
    let empty = source.trim().is_empty();
    match std::fs::canonicalize(&source_abs) {
        Ok(dir) if !empty && dir.is_dir() => {
            let mount = core_wasm::workspace::mount::Mount {
                root: dir.to_string_lossy().into_owned(),
                prefix: None,
            };
            base.options.extend(mount.to_args());
            base.mounts.push((
                dir,
                core_wasm::workspace::mount::GUEST_ROOT,
                FsPerms::ReadOnly,
            ));
        }
        Ok(_) if !empty => flags.push("--source-state=not-a-directory".into()),
        _ => flags.push("--source-state=missing".into()),
    }

    let check = check_mount(&target_abs);
    let mut sandbox = base.clone();
    sandbox.options.extend(check.mount.to_args());
    if let Some(dir) = &check.dir {
        sandbox
            .mounts
            .push((dir.clone(), target::GUEST_ROOT, FsPerms::ReadOnly));
    }
    let tail = ["--".to_owned(), source.clone(), target_typed.clone()];
    let mut argv = vec!["convert".to_owned(), "--plan".to_owned()];
    argv.extend(flags.iter().cloned());
    argv.extend(tail.iter().cloned());
    let quiet = Context {
        json: false,
        ..ctx.clone()
    };
    let out = match capture_in(&quiet, &sandbox, argv, Work::Quick) {
        Ok(out) => out,
        Err(f) => {
            report_failure(ctx, CommandName::Convert, &f);
            return ExitStatus::Failure;
        }
    };
    let target_dir = match serde_json::from_slice::<ConvertPlan>(&out.stdout) {
        Ok(ConvertPlan::Write { target_dir }) => target_dir,
        Ok(ConvertPlan::Reply { data, error }) => {
            if ctx.json {
                let env = Envelope::failure(Some(CommandName::Convert), error, to_value(data));
                printer::stdout(&core_wasm::json::to_python_json(&env));
            } else {
                printer::stderr(format!("convert: Error: {}\n", error.message).as_bytes());
            }
            return ExitStatus::Failure;
        }
        // Not a plan: the arguments were refused; run again for the answer in the
        // form asked for.
        Err(_) => {
            let mut argv = vec!["convert".to_owned()];
            argv.extend(flags);
            argv.extend(tail);
            return super::run_in(ctx, CommandName::Convert, &base, argv, Work::Audit);
        }
    };

    // `--quantize`: mlx-lm reads the source and creates the target; the guest then
    // finishes it like any other convert.
    let target = PathBuf::from(&target_dir);
    let created = first_missing(&target);
    if let Some(bits) = args.quantize.as_deref() {
        let source_dir = base
            .mounts
            .first()
            .map_or_else(|| source_abs.clone(), |(d, _, _)| d.clone());
        let group = args
            .q_group_size
            .as_deref()
            .and_then(|g| g.trim().parse::<u32>().ok())
            .unwrap_or(64);
        let bits = bits.trim().parse::<u32>().unwrap_or(4);
        if let Err(e) = quantize(ctx, &source_dir, &target, bits, group) {
            if let Some(top) = &created {
                let _ = std::fs::remove_dir_all(top);
            }
            return convert_error(ctx, &source, &target_typed, args, e);
        }
        flags.push("--quantized".to_owned());
    }
    // The target (with its parents, as 2.0.8 makes it), writable for the work.
    if let Err(e) = std::fs::create_dir_all(&target) {
        let err = CoreError::ConvertValue(format!("Cannot create {}: {e}", args.target));
        return convert_error(ctx, &source, &target_typed, args, err);
    }
    let real = std::fs::canonicalize(&target).unwrap_or(target);
    let mount = TargetMount {
        root: real.to_string_lossy().into_owned(),
        child: None,
        parent_missing: false,
    };
    let mut sandbox = base;
    sandbox.options.extend(mount.to_args());
    sandbox
        .mounts
        .push((real.clone(), target::GUEST_ROOT, FsPerms::ReadWrite));
    let mut argv = vec!["convert".to_owned()];
    argv.extend(flags);
    argv.extend(tail);
    let status = super::run_in(ctx, CommandName::Convert, &sandbox, argv, Work::Audit);
    if status != ExitStatus::Success
        && let Some(top) = created
    {
        // Folders this run made, while they are empty (a failed repair keeps its files,
        // as 2.0.8 does).
        let mut dir = real.clone();
        while dir.starts_with(&top) && std::fs::remove_dir(&dir).is_ok() {
            if !dir.pop() {
                break;
            }
        }
    }
    status
}

/// The envelope (or line) of a failure the host met.
fn convert_error(
    ctx: &Context,
    source: &str,
    target: &str,
    args: &ConvertArgs,
    err: CoreError,
) -> ExitStatus {
    let data = core_wasm::workspace::convert::ConvertData {
        source: source.to_owned(),
        target: target.to_owned(),
        mode: if args.repair_index {
            "repair-index"
        } else {
            "quantize"
        }
        .into(),
        health_check: !args.skip_health,
        ..Default::default()
    };
    if ctx.json {
        let env = core_wasm::commands::convert::envelope(data, Some(&err));
        printer::stdout(&core_wasm::json::to_python_json(&env));
    } else {
        printer::stderr(format!("convert: Error: {err}\n").as_bytes());
    }
    ExitStatus::Failure
}

/// mlx-lm's converter, as 2.0.8 calls it (`mlx_lm.convert(..., quantize=True)`): its
/// prints are dropped in JSON mode and shown otherwise.
fn quantize(
    ctx: &Context,
    source: &Path,
    target: &Path,
    bits: u32,
    group: u32,
) -> Result<(), CoreError> {
    let engine =
        crate::engine::discover(var).map_err(|e| CoreError::EngineNotFound(e.to_string()))?;
    let script = "import sys\nfrom mlx_lm import convert\nconvert(hf_path=sys.argv[1], mlx_path=sys.argv[2], quantize=True, q_bits=int(sys.argv[3]), q_group_size=int(sys.argv[4]))";
    let out = std::process::Command::new(&engine.python)
        .arg("-c")
        .arg(script)
        .arg(source)
        .arg(target)
        .arg(bits.to_string())
        .arg(group.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(if ctx.json {
            std::process::Stdio::null()
        } else {
            std::process::Stdio::inherit()
        })
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| CoreError::Execution(format!("Cannot start the engine: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("the engine failed");
    Err(CoreError::ConvertValue(format!(
        "Quantization failed: {last}"
    )))
}

/// The outermost folder of `path` that does not exist yet.
fn first_missing(path: &Path) -> Option<PathBuf> {
    let mut missing = None;
    let mut p = path.to_path_buf();
    while !p.exists() {
        missing = Some(p.clone());
        if !p.pop() {
            break;
        }
    }
    missing
}

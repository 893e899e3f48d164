//! Build orchestration. The guest module must exist before the host embeds it, and a
//! nested cargo inside a build script deadlocks on the target dir, so the order lives here:
//!
//! - `cargo xtask build`: the wasm guest, the npm package's generated files (its copy of
//!   the guest, the CommonJS twin and its types), then the `mlxk` binaries.
//! - `cargo xtask run -- <args>`: build, then run `mlxk <args>`.
//! - `cargo xtask test`: build, then every check and test: formatting, clippy (also of the
//!   host for macOS), the Rust
//!   suites (native, wasmtime, Node parity, huggingface_hub interop), the npm package's
//!   own tests (a pack-and-install smoke test among them) and its type check.
//! - `cargo xtask bench`: the side-by-side benchmarks (`bench/run.sh`, `bench/deep.sh`,
//!   `bench/pull.sh`, `bench/workspaces.sh`, `bench/engine.sh`).
//!
//! It installs what it needs: the `wasm32-wasip1` target, the npm dev dependencies, a
//! Python venv with huggingface_hub for the interoperability tests, and one with
//! MLX-Knife 2.0.8 (the original) for the workspace comparisons.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const WASM_TARGET: &str = "wasm32-wasip1";
/// The huggingface_hub release the interoperability tests run against.
const HF_HUB_VERSION: &str = "2.4.0";
/// The official OpenAI client the `serve` tests talk to our server with.
const OPENAI_VERSION: &str = "3.57.0";
/// The original the workspace tests compare with, the mlx it needs on Linux, and the
/// mlx-lm both it and our `run`/`serve` drive (the engine tests use this venv's Python).
const REFERENCE: &[&str] = &["mlx-knife==2.0.8", "mlx[cpu]==0.32.0", "mlx-lm==0.31.3"];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build(),
        Some("run") => build().and_then(|()| run_mlxk(&args[1..])),
        Some("test") => build().and_then(|()| test()),
        Some("bench") => build().and_then(|()| bench()),
        _ => Err("usage: cargo xtask <build | run -- ARGS | test | bench>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn status(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let st = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({st})"))
    }
}

fn ensure_wasm_target() -> Result {
    ensure_target(WASM_TARGET, "to build the core")
}

/// Installs a rustup target unless it is there.
fn ensure_target(target: &str, why: &str) -> Result {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output();
    let installed = out.is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.trim() == target)
    });
    if !installed {
        status(
            Command::new("rustup")
                .args(["target", "add", target])
                .current_dir(root()),
        )
        .map_err(|e| format!("{e}: the {target} target is required {why}"))?;
    }
    Ok(())
}

/// The macOS target the host is checked for (Apple silicon).
const MACOS_TARGET: &str = "aarch64-apple-darwin";

/// Type-checks (clippy, warnings denied) the host for macOS without the Apple SDK. Two
/// things need it: wasmtime's small C helper, compiled by clang against a one-line
/// `stdlib.h` stand-in (the object is never linked: this is a check, not a build), and
/// ring (rustls) for `pull`, whose C needs the SDK's libc headers; so the `network`
/// feature is left out here and that one crate is not checked for macOS.
fn check_macos() -> Result {
    ensure_target(MACOS_TARGET, "for the macOS check")?;
    if Command::new("clang").arg("--version").output().is_err() {
        return Err("the macOS check needs clang (apt-get install clang)".into());
    }
    let dir = target_dir().join("macos-check");
    let stub = dir.join("stub-include");
    std::fs::create_dir_all(&stub).map_err(|e| format!("{}: {e}", stub.display()))?;
    std::fs::write(
        stub.join("stdlib.h"),
        "/* check-only stand-in: nothing compiled against it is linked */\n#include <stddef.h>\nvoid abort(void);\n",
    )
    .map_err(|e| format!("{}: {e}", stub.display()))?;
    let cc_var = MACOS_TARGET.replace('-', "_");
    status(
        cargo()
            .args(["clippy", "--release", "--target", MACOS_TARGET])
            .args([
                "-p",
                "host",
                "--no-default-features",
                "--",
                "-D",
                "warnings",
            ])
            .env("CARGO_TARGET_DIR", &dir)
            .env(
                "MLXK_CORE_WASM",
                target_dir()
                    .join(WASM_TARGET)
                    .join("release/core-wasm.wasm"),
            )
            .env(format!("CC_{cc_var}"), "clang")
            .env(
                format!("CFLAGS_{cc_var}"),
                format!("-ffreestanding -I{}", stub.display()),
            ),
    )
}

fn build() -> Result {
    ensure_wasm_target()?;
    status(cargo().args([
        "build",
        "--release",
        "-p",
        "core-wasm",
        "--target",
        WASM_TARGET,
    ]))?;
    // The npm package's generated files: core.wasm, index.cjs and index.d.cts.
    status(
        Command::new("node")
            .arg("scripts/build.mjs")
            .current_dir(root().join("npm")),
    )?;
    // The fallback module for stock WASI runtimes (no `mlxk_host_v1` imports), in its
    // own target dir so it never overwrites the shipped one.
    status(
        cargo()
            .args([
                "build",
                "--release",
                "-p",
                "core-wasm",
                "--target",
                WASM_TARGET,
                "--features",
                "pure-hash",
                "--target-dir",
            ])
            .arg(target_dir().join("pure-hash")),
    )?;
    // The whole workspace at once, so features unify exactly as `cargo test --workspace`
    // will see them and the tests reuse these artifacts instead of rebuilding wasmtime.
    status(cargo().args(["build", "--release", "--workspace", "--exclude", "xtask"]))?;
    // The man pages, from the same clap definition as the help: `man -M target/release/man mlxk`.
    status(
        Command::new(target_dir().join("release/mlxk"))
            .arg("manpages")
            .arg(target_dir().join("release/man/man1")),
    )?;
    // The CLI's help texts for the npm package's bin, which prints them as they are.
    status(
        Command::new("node")
            .arg("scripts/build.mjs")
            .arg("--help-from")
            .arg(target_dir().join("release/mlxk"))
            .current_dir(root().join("npm")),
    )
}

fn run_mlxk(args: &[String]) -> Result {
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let bin = target_dir().join("release/mlxk");
    let st = Command::new(&bin)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    std::process::exit(st.code().unwrap_or(1));
}

fn bench() -> Result {
    status(Command::new("bash").arg("bench/run.sh").current_dir(root()))?;
    status(
        Command::new("bash")
            .arg("bench/deep.sh")
            .current_dir(root()),
    )?;
    status(
        Command::new("bash")
            .arg("bench/pull.sh")
            .current_dir(root()),
    )?;
    status(
        Command::new("bash")
            .arg("bench/workspaces.sh")
            .current_dir(root()),
    )?;
    status(
        Command::new("bash")
            .arg("bench/engine.sh")
            .current_dir(root()),
    )
}

/// Test counts gathered from every runner, for the closing line.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Reads cargo's `test result: ok. 3 passed; 0 failed; …` and node's `# pass 3`.
    fn observe(&mut self, line: &str) {
        let num = |s: &str| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let part = part
                    .trim()
                    .trim_start_matches("ok.")
                    .trim_start_matches("FAILED.")
                    .trim();
                if let Some(n) = part.strip_suffix(" passed").and_then(num) {
                    self.passed += n;
                } else if let Some(n) = part.strip_suffix(" failed").and_then(num) {
                    self.failed += n;
                }
            }
        } else if let Some(n) = line.strip_prefix("# pass ").and_then(num) {
            self.passed += n;
        } else if let Some(n) = line.strip_prefix("# fail ").and_then(num) {
            self.failed += n;
        }
    }
}

/// Runs a test command, echoing its output and counting results.
fn counted(cmd: &mut Command, tally: &mut Tally) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        tally.observe(&line);
    }
    let st = child.wait().map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({st})"))
    }
}

/// A venv at `name` (under the repo) holding `requirements`, created or refilled unless
/// `check` (Python code) already passes in it; returns its folder.
fn venv(name: &str, check: &str, requirements: &[&str]) -> Result<PathBuf> {
    let venv = root().join(name);
    let python = venv.join("bin/python");
    let ready = python.is_file()
        && Command::new(&python)
            .args(["-c", check])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        status(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(requirements),
        )?;
    }
    Ok(venv)
}

/// The venv with huggingface_hub for the interoperability tests; returns its python.
fn python_venv() -> Result<PathBuf> {
    let check = format!(
        "import huggingface_hub as h, importlib.metadata as m; assert h.__version__ == '{HF_HUB_VERSION}' and m.version('openai') == '{OPENAI_VERSION}'"
    );
    let requirement = format!("huggingface_hub=={HF_HUB_VERSION}");
    let openai = format!("openai=={OPENAI_VERSION}");
    Ok(venv(".venv", &check, &[&requirement, &openai])?.join("bin/python"))
}

/// A venv of its own with MLX-Knife 2.0.8 (its huggingface_hub 1.x must not meet ours);
/// returns its `mlxk`.
fn reference_venv() -> Result<PathBuf> {
    let check = "import importlib.metadata as m; assert m.version('mlx-knife') == '2.0.8' and m.version('mlx-lm') == '0.31.3'";
    Ok(venv(".venv-reference", check, REFERENCE)?.join("bin/mlxk"))
}

fn npm(args: &[&str]) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(args).current_dir(root().join("npm"));
    cmd
}

fn test() -> Result {
    let mut tally = Tally::default();
    status(cargo().args(["fmt", "--all", "--", "--check"]))?;
    status(cargo().args([
        "clippy",
        "--release",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    status(cargo().args([
        "clippy",
        "--release",
        "-p",
        "core-wasm",
        "--target",
        WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;
    status(cargo().args([
        "clippy",
        "--release",
        "-p",
        "core-wasm",
        "--target",
        WASM_TARGET,
        "--features",
        "pure-hash",
        "--",
        "-D",
        "warnings",
    ]))?;
    check_macos()?;
    // The handbook's examples (tests/tests/readme.rs) pipe into jq and talk to `serve` with curl.
    for tool in ["jq", "curl"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!(
                "the README's examples need {tool} (apt-get install {tool})"
            ));
        }
    }
    let python = python_venv()?;
    let reference = reference_venv()?;
    status(&mut npm(&[
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))?;
    let results = [
        counted(
            cargo()
                .args(["test", "--release", "--workspace", "--no-fail-fast"])
                .env("MLXK_TEST_PYTHON", &python)
                .env("MLXK_TEST_REFERENCE", &reference)
                .env(
                    "MLXK_TEST_ENGINE_PYTHON",
                    reference.with_file_name("python"),
                ),
            &mut tally,
        ),
        counted(&mut npm(&["test"]), &mut tally),
        status(&mut npm(&["run", "typecheck"])),
    ];
    println!("{} passed, {} failed", tally.passed, tally.failed);
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(std::result::Result::err)
        .collect();
    if failures.is_empty() && tally.failed == 0 {
        Ok(())
    } else {
        Err(format!("tests failed:\n  {}", failures.join("\n  ")))
    }
}

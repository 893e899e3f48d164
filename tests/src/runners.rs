//! One command line through each runtime. The CLI and Node runners execute the same
//! `core-wasm.wasm`; the native runner calls the library in-process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

/// What one run printed and returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output bytes.
    pub stdout: Vec<u8>,
    /// Standard error bytes.
    pub stderr: Vec<u8>,
}

impl Run {
    /// Standard output as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout_text(),
                String::from_utf8_lossy(&self.stderr)
            )
        })
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The cargo target dir.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

fn binary(name: &str) -> PathBuf {
    let path = target_dir().join("release").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo xtask test` (it builds the binaries first)",
        path.display()
    );
    path
}

/// Environment variables that would redirect the cache are removed, so only what a test
/// passes counts; compiled modules go to a folder inside the target dir.
fn command(name: &str) -> Command {
    let mut cmd = Command::new(binary(name));
    for var in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "MLXK_WORKSPACE_HOME",
    ] {
        cmd.env_remove(var);
    }
    // No token file of the machine's user either.
    cmd.env("HF_TOKEN_PATH", "/nonexistent/mlxk-test-token");
    // No engine unless a test names one: `--version --json` must not depend on the
    // machine's python3.
    cmd.env("MLXK_PYTHON", "/nonexistent/mlxk-test-python");
    cmd.env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"));
    cmd
}

/// Runs `mlxk <args>` with `--cache-dir cache` (when given).
pub fn cli(args: &[&str], cache: Option<&Path>) -> Run {
    cli_with("mlxk", args, cache, &[])
}

/// Runs one of the binaries with extra environment variables.
pub fn cli_with(bin: &str, args: &[&str], cache: Option<&Path>, env: &[(&str, &Path)]) -> Run {
    cli_in(None, bin, args, cache, env)
}

/// [`cli_with`] in the working directory `cwd` (for relative targets).
pub fn cli_in(
    cwd: Option<&Path>,
    bin: &str,
    args: &[&str],
    cache: Option<&Path>,
    env: &[(&str, &Path)],
) -> Run {
    let mut cmd = command(bin);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.args(args);
    if let Some(c) = cache {
        cmd.arg("--cache-dir").arg(c);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("spawn mlxk");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs `mlxk <args> --json` and parses the envelope.
pub fn cli_json(args: &[&str], cache: &Path) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let run = cli(&all, Some(cache));
    (run.code, run.json())
}

/// Runs the core in-process, natively, on `cache` (argv excludes the program name).
pub fn native(args: &[&str], cache: &Path) -> Run {
    let mut argv = vec!["mlxk".to_owned()];
    // What the CLI tells the guest about `--cache-dir cache`.
    argv.extend(mlxk_host::env::cache_location(cache, core_wasm::location::Origin::Flag).to_args());
    argv.extend(args.iter().map(|s| (*s).to_owned()));
    // Fixtures are dated years back, so any recent `now` renders the same dates.
    let now = UNIX_EPOCH + Duration::from_secs(crate::fixture::now_secs());
    let out = core_wasm::run(&argv, cache, now);
    Run {
        code: out.code,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The `pure-hash` build of the core: no `mlxk_host_v1` imports.
pub fn pure_module() -> PathBuf {
    let path = target_dir().join("pure-hash/wasm32-wasip1/release/core-wasm.wasm");
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask build` builds the pure-hash module",
        path.display()
    );
    path
}

/// Runs the `pure-hash` module the way a stock runtime would (bare node:wasi, the cache
/// as `/cache`, nothing else).
pub fn stock(cache: &Path, args: &[&str]) -> Run {
    let out = Command::new("node")
        .arg("--no-warnings")
        .arg(repo_root().join("tests/node/run-stock.mjs"))
        .arg(pure_module())
        .arg(cache)
        .args(args)
        .output()
        .expect("node runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// Runs every case through the npm package in one Node process.
pub fn node_batch(cases: &[(Vec<String>, PathBuf)]) -> Vec<Run> {
    node_batch_with(cases, &[])
}

/// [`node_batch`] with extra environment variables for the Node process.
pub fn node_batch_with(cases: &[(Vec<String>, PathBuf)], env: &[(&str, &str)]) -> Vec<Run> {
    let input = Value::Array(
        cases
            .iter()
            .map(|(argv, cache)| json!({"argv": argv, "cacheDir": cache}))
            .collect(),
    );
    let script = repo_root().join("tests/node/run-cases.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .env_remove("MLXK_WORKSPACE_HOME")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node must be installed (Node >= 20)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("runner prints JSON");
    results
        .iter()
        .map(|r| Run {
            code: i32::try_from(r["code"].as_i64().unwrap()).unwrap(),
            stdout: unhex(r["stdout"].as_str().unwrap()),
            stderr: unhex(r["stderr"].as_str().unwrap()),
        })
        .collect()
}

/// The reason `mlxk health <name> --json` gives for its single entry.
pub fn health_reason(cache: &Path, name: &str) -> String {
    let (code, env) = cli_json(&["health", name], cache);
    assert_eq!(code, 0, "{env:#}");
    let d = &env["data"];
    let entry = d["healthy"]
        .get(0)
        .or_else(|| d["unhealthy"].get(0))
        .unwrap_or_else(|| panic!("{env:#}"));
    entry["reason"].as_str().unwrap().to_owned()
}

/// Runs the npm package's bin (`npx mlx-knife`), `node npm/bin/mlx-knife.mjs <args>
/// --cache-dir cache`, with the environment [`cli`] gives the CLI.
pub fn npm_bin(args: &[&str], cache: &Path) -> Run {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("npm/bin/mlx-knife.mjs"));
    for var in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "MLXK_WORKSPACE_HOME",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .stdin(Stdio::null())
        .output()
        .expect("node must be installed (Node >= 20)");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

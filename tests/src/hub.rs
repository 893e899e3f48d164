//! The project's own test Hub (`tests/hub/fakehub.py`) on 127.0.0.1, and the real
//! huggingface_hub client (`tests/hub/hf_client.py`), driven from Rust tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::runners::repo_root;

/// The Python that has huggingface_hub: `MLXK_TEST_PYTHON`, else the repo's `.venv`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("MLXK_TEST_PYTHON")
        .map_or_else(|| repo_root().join(".venv/bin/python"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask test` creates the venv with huggingface_hub",
        path.display()
    );
    path
}

/// MLX-Knife 2.0.8's `mlxk`: `MLXK_TEST_REFERENCE`, else the repo's `.venv-reference`.
pub fn reference_mlxk() -> PathBuf {
    let path = std::env::var_os("MLXK_TEST_REFERENCE").map_or_else(
        || repo_root().join(".venv-reference/bin/mlxk"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask test` creates the venv with mlx-knife 2.0.8",
        path.display()
    );
    path
}

/// A running fake Hub; stopped (by its PID) when dropped.
#[derive(Debug)]
pub struct FakeHub {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub url: String,
}

impl FakeHub {
    /// Serves `store` (see `tests/hub/fakehub.py` for its layout) with extra flags.
    pub fn start(store: &Path, flags: &[&str]) -> Self {
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/hub/fakehub.py"))
            .arg("--store")
            .arg(store)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fakehub");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("fakehub did not start: {line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `hf_client.py <args>`; panics with its stderr on failure; returns stdout.
pub fn hf_client(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(repo_root().join("tests/hub/hf_client.py"))
        .args(args)
        .output()
        .expect("run hf_client.py");
    assert!(
        out.status.success(),
        "hf_client.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// huggingface_hub's `scan_cache_dir` of `cache`, as JSON.
pub fn scan_cache_dir(cache: &Path) -> Value {
    serde_json::from_str(&hf_client(&["scan", "--cache", cache.to_str().unwrap()])).unwrap()
}

//! The inference engine for the `run`/`serve` suites: a Python with mlx-lm, the tiny Llama
//! it builds (`tests/engine/tiny_llama.py`), and that model placed in a cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture::CacheFixture;
use crate::runners::repo_root;
use crate::zoo;

/// A Python with mlx-lm: `MLXK_TEST_ENGINE_PYTHON`, else the reference venv's (mlx-knife
/// 2.0.8 brings mlx-lm and mlx[cpu]).
pub fn python() -> PathBuf {
    let path = std::env::var_os("MLXK_TEST_ENGINE_PYTHON").map_or_else(
        || repo_root().join(".venv-reference/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask test` creates the venv with mlx-lm",
        path.display()
    );
    path
}

/// The tiny Llama built into `out` by mlx-lm itself; 4-bit (group size 32) when `quantize`.
pub fn tiny_llama(out: &Path, quantize: bool) -> PathBuf {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/engine/tiny_llama.py"))
        .arg(out);
    if quantize {
        cmd.arg("--quantize");
    }
    assert!(cmd.status().unwrap().success(), "tiny_llama.py failed");
    out.to_path_buf()
}

/// Puts the model folder `model` into `cache` as `repo` (main = [`zoo::A`]).
pub fn cache_model(cache: &CacheFixture, repo: &str, model: &Path) {
    let snap = cache.model(repo).git_ref("main", zoo::A).snapshot(zoo::A);
    for e in std::fs::read_dir(model).unwrap() {
        let e = e.unwrap();
        snap.file(
            e.file_name().to_str().unwrap(),
            std::fs::read(e.path()).unwrap(),
        );
    }
}

/// A PyTorch-only model mlx-lm cannot run.
pub fn cache_pytorch(cache: &CacheFixture, repo: &str) {
    cache
        .model(repo)
        .git_ref("main", zoo::A)
        .snapshot(zoo::A)
        .file("config.json", zoo::cfg("llama"))
        .file("pytorch_model.bin", vec![1u8; 64])
        .file("tokenizer.json", "{}")
        .file("tokenizer_config.json", "{}");
}

/// A copy of the model folder `model` at `out` whose context window is a million tokens
/// (RoPE has no length limit), so a generation lasts until it is stopped.
pub fn endless(model: &Path, out: &Path) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    for entry in std::fs::read_dir(model).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.join(entry.file_name())).unwrap();
    }
    let path = out.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["max_position_embeddings"] = 1_000_000.into();
    std::fs::write(&path, config.to_string()).unwrap();
    out.to_path_buf()
}

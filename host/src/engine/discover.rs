//! Finding the engine: `MLXK_PYTHON` (a Python with `mlx_lm` importable), else `python3`
//! on PATH when it has it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::EngineError;

/// A Python that has mlx-lm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// The interpreter.
    pub python: PathBuf,
    /// mlx-lm's version.
    pub version: String,
}

/// The Python named by `MLXK_PYTHON`, else `python3`, and whether it was named.
pub fn python(var: impl Fn(&str) -> Option<String>) -> (PathBuf, bool) {
    match var(crate::env::EnvVars::MLXK_PYTHON).filter(|v| !v.trim().is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from("python3"), false),
    }
}

/// The engine named by `MLXK_PYTHON`, else `python3`, with mlx-lm's version (read from
/// the package metadata: nothing is imported, so this takes milliseconds).
pub fn discover(var: impl Fn(&str) -> Option<String>) -> Result<Engine, EngineError> {
    let (python, named) = python(var);
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, importlib.util as u; assert u.find_spec('mlx_lm'); print(m.version('mlx-lm'))",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let shown = format!(
        "{}{}",
        python.display(),
        if named { " (MLXK_PYTHON)" } else { "" }
    );
    match out {
        Ok(o) if o.status.success() => Ok(Engine {
            version: String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            python,
        }),
        Ok(_) => Err(EngineError::NotFound(format!(
            "{shown} cannot import mlx_lm"
        ))),
        Err(e) => Err(EngineError::NotFound(format!(
            "{shown} cannot be started ({e})"
        ))),
    }
}

//! The inference engine: mlx-lm, driven as a supervised child process (`worker.py`, a
//! line protocol over pipes). This module finds it and talks to it; it decides nothing
//! about models (the guest resolves and gates them first).

pub mod discover;
pub mod interrupt;
pub mod worker;

pub use discover::{Engine, discover};
pub use worker::{Generate, Generated, Worker};

use core_wasm::protocol::ErrorBody;

/// Why the engine could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No Python with mlx_lm.
    #[error(
        "No inference engine: {0}. Install mlx-lm (`pip install mlx-lm`, with `mlx[cpu]` on Linux) and set MLXK_PYTHON to that Python if it is not `python3` on PATH"
    )]
    NotFound(String),
    /// The worker failed or died.
    #[error("{0}")]
    Failed(String),
    /// Ctrl-C stopped the generation.
    #[error("Generation interrupted")]
    Interrupted,
}

impl EngineError {
    /// The stable `error.type`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "engine_not_found",
            Self::Failed(_) => "execution_error",
            Self::Interrupted => "interrupted",
        }
    }

    /// The error as it goes on the wire.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            kind: self.code().to_owned(),
            message: self.to_string(),
            matches: None,
            available_hashes: None,
            available_refs: None,
        }
    }
}

//! Test support shared by the cross-runtime suites: real caches on disk, and runners that
//! put one command line through every runtime (the native library, the `mlxk` binary
//! under wasmtime, and the npm package under Node).

pub mod engine;
pub mod fixture;
pub mod hub;
pub mod locks;
pub mod pullstore;
pub mod rawhub;
pub mod runners;
pub mod schema;
pub mod zoo;

pub use fixture::{CacheFixture, Repo, Snapshot, safetensors};
pub use runners::{Run, cli, cli_json, health_reason, native, node_batch, repo_root, target_dir};

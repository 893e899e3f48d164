//! Workspaces: plain model folders outside the cache (`config.json` + weights), made by
//! `clone` or `convert` or by hand, and identified by MLX-Knife 2.0.8's content hash.

pub mod clean;
pub mod clone;
pub mod content_hash;
pub mod convert;
pub mod copy;
pub mod exclude;
pub mod home;
pub mod model;
pub mod mount;
pub mod recalc;
pub mod sentinel;
pub mod target;

/// `mlxk_version` in the sentinels this tool writes: this tool's version (2.0.8 only
/// requires the key to be present).
pub const SENTINEL_VERSION: &str = env!("CARGO_PKG_VERSION");

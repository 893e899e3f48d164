//! Workspaces: plain model folders outside the cache (`config.json` + weights), made by
//! `clone` or `convert` or by hand, and identified by MLX-Knife 2.0.8's content hash.

pub mod clean;
pub mod content_hash;
pub mod exclude;
pub mod model;
pub mod mount;
pub mod recalc;
pub mod sentinel;

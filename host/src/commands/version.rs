//! `mlxk --version`: answered by the guest, so both runtimes report the same document.

use core_wasm::protocol::CommandName;
use wasmtime_wasi::FsPerms;

use super::{Context, ExitStatus, run_guest};

/// Prints the version.
pub fn run(ctx: &Context) -> ExitStatus {
    // The guest needs no cache for this; give it none.
    let ctx = Context {
        cache_dir: std::path::PathBuf::new(),
        ..ctx.clone()
    };
    run_guest(
        &ctx,
        CommandName::Version,
        vec!["--version".into()],
        FsPerms::ReadOnly,
    )
}

//! `mlxk --version`: answered by the guest, so both runtimes report the same document.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Work, run_guest};

/// Prints the version; the guest gets no filesystem for it.
pub fn run(ctx: &Context) -> ExitStatus {
    run_guest(
        ctx,
        CommandName::Version,
        vec!["--version".into()],
        Access::None,
        Work::Quick,
    )
}

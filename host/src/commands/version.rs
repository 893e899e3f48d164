//! `mlxk --version`: answered by the guest, so both runtimes report the same document.
//! With `--json` the host first looks for its engine (a Python start, tens of ms) and
//! tells the guest what it found; the human line stays the reference's `mlxk <version>`.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Sandbox, Work, run_in};
use crate::engine;

/// Prints the version; the guest gets no filesystem for it.
pub fn run(ctx: &Context) -> ExitStatus {
    let mut sandbox = Sandbox::for_cache(ctx, Access::None);
    if ctx.json
        && let Ok(found) = engine::discover(|k| std::env::var(k).ok())
    {
        sandbox.options.push(core_wasm::engine::to_arg(
            &found.version,
            &found.python.to_string_lossy(),
        ));
    }
    run_in(
        ctx,
        CommandName::Version,
        &sandbox,
        vec!["--version".into()],
        Work::Quick,
    )
}

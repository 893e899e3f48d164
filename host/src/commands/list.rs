//! `mlxk list`: forwarded to the guest, read-only.

use super::{Access, Context, ExitStatus, Work, run_guest};
use crate::cli::ListArgs;
use core_wasm::protocol::CommandName;

/// Lists cached models.
pub fn run(ctx: &Context, args: &ListArgs) -> ExitStatus {
    let mut argv = vec!["list".to_owned()];
    for (on, flag) in [
        (args.all, "--all"),
        (args.health, "--health"),
        (args.no_truncate, "--no-truncate"),
    ] {
        if on {
            argv.push(flag.to_owned());
        }
    }
    // The table is fitted to a terminal; a pipe gets it whole.
    if !ctx.json
        && let Some(width) = crate::printer::stdout_width()
    {
        argv.push(format!("--term-width={width}"));
    }
    if let Some(p) = &args.pattern {
        argv.extend(["--".to_owned(), p.clone()]);
    }
    run_guest(ctx, CommandName::List, argv, Access::ReadCache, Work::Quick)
}

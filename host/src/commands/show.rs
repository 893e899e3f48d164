//! `mlxk show`: forwarded to the guest, read-only.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Work, run_guest};
use crate::cli::ShowArgs;

/// Shows one model.
pub fn run(ctx: &Context, args: &ShowArgs) -> ExitStatus {
    let mut argv = vec!["show".to_owned()];
    for (on, flag) in [
        (args.files, "--files"),
        (args.config, "--config"),
        (args.recalc_hash, "--recalc-hash"),
    ] {
        if on {
            argv.push(flag.to_owned());
        }
    }
    argv.extend(["--".to_owned(), args.model.clone()]);
    run_guest(ctx, CommandName::Show, argv, Access::ReadCache, Work::Quick)
}

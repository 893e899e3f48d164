//! `mlxk rm`: forwarded to the guest with the cache preopened writable (the only such
//! command); the guest decides what goes.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Work, run_guest};
use crate::cli::RmArgs;

/// Deletes a model or one of its revisions.
pub fn run(ctx: &Context, args: &RmArgs) -> ExitStatus {
    let mut argv = vec!["rm".to_owned()];
    if args.force {
        argv.push("--force".to_owned());
    }
    if args.dry_run {
        argv.push("--dry-run".to_owned());
    }
    argv.extend(args.files.iter().map(|g| format!("--files={g}")));
    argv.push("--".to_owned());
    argv.extend(args.models.iter().cloned());
    run_guest(ctx, CommandName::Rm, argv, Access::WriteCache, Work::Quick)
}

//! `mlxk prune`: forwarded to the guest with the cache preopened writable; the guest decides
//! what is garbage and what stays.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Work, run_guest};
use crate::cli::PruneArgs;

/// Removes detached revisions, orphan blobs, interrupted downloads and stale locks.
pub fn run(ctx: &Context, args: &PruneArgs) -> ExitStatus {
    let mut argv = vec!["prune".to_owned()];
    if args.dry_run {
        argv.push("--dry-run".to_owned());
    }
    run_guest(
        ctx,
        CommandName::Prune,
        argv,
        Access::WriteCache,
        Work::Quick,
    )
}

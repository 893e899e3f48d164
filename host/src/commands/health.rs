//! `mlxk health`: forwarded to the guest, read-only.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, run_guest};
use crate::cli::HealthArgs;

/// Checks model integrity.
pub fn run(ctx: &Context, args: &HealthArgs) -> ExitStatus {
    let mut argv = vec!["health".to_owned()];
    if let Some(m) = &args.model {
        argv.extend(["--".to_owned(), m.clone()]);
    }
    run_guest(ctx, CommandName::Health, argv, Access::ReadCache)
}

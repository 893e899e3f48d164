//! `mlxk health`: forwarded to the guest, read-only.

use core_wasm::protocol::CommandName;

use super::{Access, Context, ExitStatus, Work, run_guest};
use crate::cli::HealthArgs;

/// Checks model integrity.
pub fn run(ctx: &Context, args: &HealthArgs) -> ExitStatus {
    let mut argv = vec!["health".to_owned()];
    if args.deep {
        argv.push("--deep".to_owned());
    }
    if args.strict {
        argv.push("--strict".to_owned());
    }
    if let Some(m) = &args.model {
        argv.extend(["--".to_owned(), m.clone()]);
    }
    let work = if args.deep { Work::Audit } else { Work::Quick };
    run_guest(ctx, CommandName::Health, argv, Access::ReadCache, work)
}

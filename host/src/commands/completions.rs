//! `mlxk completions SHELL` and the build's man pages: both generated from the one clap
//! definition of the command line, so they cannot drift from it.

use clap::CommandFactory;

use super::{Context, ExitStatus};
use crate::cli::{Cli, CompletionsArgs, ManpagesArgs};
use crate::printer;

/// Prints the completion script for the program as it was invoked (`mlxk` or `mlxk-json`).
pub fn run(ctx: &Context, args: &CompletionsArgs) -> ExitStatus {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, ctx.program.as_str(), &mut out);
    printer::stdout(&out);
    ExitStatus::Success
}

/// Writes `mlxk.1` and `mlxk-<command>.1` for every visible command into `args.dir`.
pub fn manpages(args: &ManpagesArgs) -> ExitStatus {
    match write_manpages(&args.dir) {
        Ok(n) => {
            printer::stderr(
                format!("manpages: wrote {n} pages to {}\n", args.dir.display()).as_bytes(),
            );
            ExitStatus::Success
        }
        Err(e) => {
            printer::stderr(format!("manpages: Error: {e}\n").as_bytes());
            ExitStatus::Failure
        }
    }
}

fn write_manpages(dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let top = Cli::command();
    let mut pages = vec![("mlxk".to_owned(), top.clone())];
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("mlxk-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, cmd) in &pages {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
        std::fs::write(dir.join(format!("{name}.1")), out)?;
    }
    Ok(pages.len())
}

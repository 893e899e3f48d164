//! All terminal output goes through here: data to stdout, narration to stderr, and a
//! closed pipe (`mlxk list | head`) is a normal end, not an error.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// `--color`: 0 auto, 1 always, 2 never.
static COLOR: AtomicU8 = AtomicU8::new(0);

/// `-q`: no progress bars.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records `-q` for the rest of the run.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Records `--color` for the rest of the run.
pub fn set_color(choice: clap::ColorChoice) {
    let v = match choice {
        clap::ColorChoice::Auto => 0,
        clap::ColorChoice::Always => 1,
        clap::ColorChoice::Never => 2,
    };
    COLOR.store(v, Ordering::Relaxed);
}

/// Writes `bytes` to stdout; `false` if the reader has gone away.
pub fn stdout(bytes: &[u8]) -> bool {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
        Err(_) => false,
    }
}

/// Writes `bytes` to stderr, ignoring failures (there is nowhere left to report them).
pub fn stderr(bytes: &[u8]) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(bytes).and_then(|()| err.flush());
}

/// The width of the terminal stdout is, if it is one: `COLUMNS` when set to a number (as
/// shells export it, and as tests set it), else the terminal's own size.
pub fn stdout_width() -> Option<usize> {
    let stdout = io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|n| *n > 0)
}

/// Whether progress bars may be drawn: stderr is a terminal that is not `dumb`, and
/// `--color never` was not given (a bar is cursor movement: escapes, which `never` rules
/// out on every stream).
pub fn progress_allowed() -> bool {
    let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
    COLOR.load(Ordering::Relaxed) != 2
        && !QUIET.load(Ordering::Relaxed)
        && !dumb
        && io::stderr().is_terminal()
}

/// Whether stderr may carry colour: `--color always`, or (`auto`) a terminal, `NO_COLOR`
/// unset or empty (<https://no-color.org>), and `TERM` not `dumb`. Pipes and logs get
/// plain text; `--color never` never colours.
pub fn stderr_wants_color() -> bool {
    match COLOR.load(Ordering::Relaxed) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
    !no_color && !dumb && io::stderr().is_terminal()
}

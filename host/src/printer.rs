//! All terminal output goes through here: data to stdout, narration to stderr, and a
//! closed pipe (`mlxk list | head`) is a normal end, not an error.

use std::io::{self, IsTerminal, Write};

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

/// Whether stderr may carry colour: a terminal, `NO_COLOR` unset or empty
/// (<https://no-color.org>), and `TERM` not `dumb`. Pipes and logs get plain text.
pub fn stderr_wants_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
    !no_color && !dumb && io::stderr().is_terminal()
}

//! All terminal output goes through here: data to stdout, narration to stderr, and a
//! closed pipe (`mlxk list | head`) is a normal end, not an error.

use std::io::{self, Write};

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

//! Warnings a command prints on stderr beside its answer (2.0.8's `Corrupt sentinel in …`,
//! `Cannot update hash: …`), in both output modes. Collected per run, in order.

use std::cell::RefCell;

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records one warning line (without the newline).
pub fn warn(message: impl Into<String>) {
    WARNINGS.with(|w| w.borrow_mut().push(message.into()));
}

/// The warnings so far, as stderr bytes; clears them.
pub fn take() -> Vec<u8> {
    WARNINGS.with(drain)
}

/// Empties `lines` into stderr bytes, one line each.
fn drain(lines: &RefCell<Vec<String>>) -> Vec<u8> {
    lines
        .borrow_mut()
        .drain(..)
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect()
}

thread_local! {
    static NOTES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records a hint for a person (what `list` hid and how to see it): printed on stderr in
/// human mode only, after the answer; a JSON reader has the data itself.
pub fn note(message: impl Into<String>) {
    NOTES.with(|n| n.borrow_mut().push(message.into()));
}

/// The notes so far, as stderr bytes; clears them.
pub fn take_notes() -> Vec<u8> {
    NOTES.with(drain)
}

//! Ctrl-C during `run`. The worker runs in its own process group, so the terminal's SIGINT
//! reaches only us: while the engine generates we forward it once (the worker stops after
//! the current token and answers `interrupted`); at any other moment (loading, waiting at
//! the chat prompt) the worker is killed and we exit 130, the shell's code for an interrupt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use rustix::process::Signal;
use signal_hook::consts::SIGINT;
use signal_hook::iterator::Signals;

/// The exit code after an interrupt (128 + SIGINT).
pub const EXIT_CODE: u8 = 130;

#[derive(Default)]
struct State {
    generating: AtomicBool,
    worker: AtomicU32,
}

/// Ctrl-C handling for one `run`; without it (no signal thread) Ctrl-C keeps its default.
pub struct Interrupts {
    state: Arc<State>,
}

impl Interrupts {
    /// Takes over SIGINT for the rest of the process; `on_exit` prints what an interrupt
    /// outside a generation leaves (a newline, or the JSON envelope).
    pub fn install(on_exit: impl Fn() + Send + 'static) -> Self {
        let state = Arc::new(State::default());
        if let Ok(mut signals) = Signals::new([SIGINT]) {
            let shared = Arc::clone(&state);
            std::thread::spawn(move || {
                for _ in signals.forever() {
                    let worker = shared.worker.load(Ordering::SeqCst);
                    if shared.generating.load(Ordering::SeqCst) {
                        super::worker::signal(worker, Signal::INT);
                        continue;
                    }
                    super::worker::signal(worker, Signal::KILL);
                    on_exit();
                    std::process::exit(i32::from(EXIT_CODE));
                }
            });
        }
        Self { state }
    }

    /// The worker to stop or kill from now on.
    pub fn watch(&self, pid: u32) {
        self.state.worker.store(pid, Ordering::SeqCst);
    }

    /// Runs `generate` with Ctrl-C meaning "stop generating".
    pub fn generating<T>(&self, generate: impl FnOnce() -> T) -> T {
        self.state.generating.store(true, Ordering::SeqCst);
        let out = generate();
        self.state.generating.store(false, Ordering::SeqCst);
        out
    }
}

//! The WASI command: argv in, one document on stdout, the exit code out. The cache is the
//! preopened `/cache`; there is no environment.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let out = core_wasm::run(
        &argv,
        Path::new(core_wasm::GUEST_CACHE_ROOT),
        SystemTime::now(),
    );
    // A closed stdout (`| head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(&out.stdout);
    let _ = std::io::stderr().lock().write_all(&out.stderr);
    ExitCode::from(u8::try_from(out.code).unwrap_or(1))
}

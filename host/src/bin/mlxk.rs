//! `mlxk`: text output unless `--json` is given.

fn main() -> std::process::ExitCode {
    mlxk_host::main_with(false)
}

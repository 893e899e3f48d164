//! `mlxk-json`: the same tool with JSON output by default, for scripts.

fn main() -> std::process::ExitCode {
    mlxk_host::main_with(true)
}

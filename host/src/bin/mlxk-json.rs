fn main() -> std::process::ExitCode {
    mlxk_host::main_with(true)
}

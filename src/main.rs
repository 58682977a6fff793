fn main() -> std::process::ExitCode {
    arena::cli::main()
}

fn main() -> std::process::ExitCode {
    marquee_infra::bootstrap::main()
}

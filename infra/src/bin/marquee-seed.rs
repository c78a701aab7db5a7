fn main() -> std::process::ExitCode {
    marquee_infra::seed::main()
}

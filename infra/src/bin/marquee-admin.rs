fn main() -> std::process::ExitCode {
    marquee_infra::admin::main()
}

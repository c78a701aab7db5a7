fn main() -> std::process::ExitCode {
    marquee_infra::local::main()
}

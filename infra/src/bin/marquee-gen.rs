fn main() -> std::process::ExitCode {
    marquee_infra::generate::main()
}

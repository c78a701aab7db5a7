fn main() -> std::process::ExitCode {
    marquee_infra::keys::main()
}

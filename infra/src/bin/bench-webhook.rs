fn main() -> std::process::ExitCode {
    marquee_infra::bench_webhook::main()
}

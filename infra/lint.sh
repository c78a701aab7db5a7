# Linting as the build goes (sourced by .ci/run from the repository root). With
# MARQUEE_LINT=1, clippy is the compiler of the workspace's own crates and every warning,
# rustc's and clippy's, is an error (dependencies' lints stay capped by cargo): the build
# the tests use is the lint. A `cargo clippy` pass before the build checked every dependency
# a second time (about five minutes of CI's two cores). The settings are cargo's own,
# exported, so that every cargo command of the run (the tests' build and runs, the README's
# recipe) keeps to one build.
if [ -n "${MARQUEE_LINT:-}" ]; then
  export CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
  export CARGO_BUILD_RUSTFLAGS="-Dwarnings"
fi

# Fails unless the settings refuse a crate with one clippy warning: a lint pass that lints
# nothing would pass everything.
lint_probe() {
  local probe="target/lint-probe"
  mkdir -p "$probe/src"
  printf '[package]\nname = "lint-probe"\nversion = "0.0.0"\nedition = "2024"\n\n[workspace]\n' >"$probe/Cargo.toml"
  printf 'fn size(text: &String) -> usize {\n    text.len()\n}\n\nfn main() {\n    print!("{}", size(&String::new()));\n}\n' >"$probe/src/main.rs"
  local output
  if output="$(cargo build -q --manifest-path "$probe/Cargo.toml" 2>&1)"; then
    echo "the lint settings let a clippy warning (ptr_arg) through" >&2
    return 1
  fi
  if ! grep -q "clippy::ptr.arg" <<<"$output"; then
    echo "the lint probe failed otherwise than by its clippy warning:" >&2
    echo "$output" >&2
    return 1
  fi
  echo "the lint settings refuse a clippy warning"
}

#!/usr/bin/env python3
"""The contract as clients use it: three mainstream generators each make a client from the
document the local server serves, and each client runs a viewer's journey against that
server (sign up, activate from the outbox, sign in, list and open a movie, favourite,
rate, update the profile with a PATCH, add to cart, order with an Idempotency-Key, check
out), every answer decoding into the generated types:

- TypeScript: openapi-typescript's types with openapi-fetch (pinned in package-lock.json),
  the journey type-checked by tsc --strict, then run by node;
- Python: openapi-python-client (pinned in requirements-test.txt);
- Rust: OpenAPI Generator's `rust` generator (the PyPI openapi-generator-cli, on Java)
  with reqwest, built by cargo from crates.io.

The clients are made into target/clients/. Usage: clients.py LOCAL_SERVER_BINARY
(run by ./infra/test, after `npm ci` in infra/contract and with the test venv).
"""

import os
import subprocess
import sys
import time
import urllib.request

from local_server import scratch_dir, start

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "target", "clients")
VENV_BIN = os.path.dirname(sys.executable)


def run(what: str, command: list[str], **kwargs):
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-6000:], file=sys.stderr)
        sys.exit(f"clients: {what} failed (exit {done.returncode})")
    return done, time.monotonic() - started


def journey(name: str, command: list[str], **kwargs):
    done, took = run(f"the {name} journey", command, **kwargs)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].endswith("journey passed"):
        print(done.stdout, done.stderr, file=sys.stderr)
        sys.exit(f"clients: the {name} journey did not finish")
    print(f"clients: {name}: {len(lines) - 1} steps passed in {took:.1f} s")


def main():
    binary = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    data_dir = scratch_dir("marquee-clients-")
    outbox = os.path.join(data_dir, "outbox")
    server, base, _ = start(binary, data_dir, MARQUEE_DEMO="true", MARQUEE_DEMO_MOVIES="30")
    try:
        document = os.path.join(OUT, "openapi.json")
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as answer:
            with open(document, "wb") as f:
                f.write(answer.read())

        # TypeScript: the generated paths type the fetch client and the journey.
        bin_dir = os.path.join(HERE, "node_modules", ".bin")
        types = os.path.join(OUT, "typescript", "marquee-api.d.ts")
        run("openapi-typescript", [os.path.join(bin_dir, "openapi-typescript"), document, "-o", types])
        build = os.path.join(HERE, ".build")
        run(
            "tsc on the TypeScript journey",
            [os.path.join(bin_dir, "tsc"), "--strict", "--target", "es2022", "--module", "nodenext",
             "--moduleResolution", "nodenext", "--types", "node", "--rootDir", ".",
             "--outDir", build, "typescript_journey.mts"],
            cwd=HERE,
        )
        journey("typescript", ["node", os.path.join(build, "typescript_journey.mjs"), base, outbox])

        # Python: openapi-python-client's package, imported by the journey.
        python_client = os.path.join(OUT, "python")
        run(
            "openapi-python-client",
            [os.path.join(VENV_BIN, "openapi-python-client"), "generate", "--path", document,
             "--output-path", python_client, "--overwrite",
             "--config", os.path.join(HERE, "python-client.yaml")],
        )
        journey(
            "python",
            [sys.executable, os.path.join(HERE, "python_journey.py"), base, outbox, python_client],
        )

        # Rust: OpenAPI Generator's crate, built (no TLS) into the journey binary.
        rust_client = os.path.join(OUT, "rust")
        run(
            "openapi-generator-cli (rust)",
            [os.path.join(VENV_BIN, "openapi-generator-cli"), "generate", "-g", "rust",
             "-i", document, "-o", rust_client,
             "--additional-properties=packageName=marquee_client,library=reqwest"],
        )
        manifest = os.path.join(HERE, "rust-journey", "Cargo.toml")
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(OUT, "rust-journey-target"))
        # The generator's code is not ours to lint (CI lints our crates as it builds them,
        # infra/lint.sh).
        for setting in ("CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTFLAGS"):
            env.pop(setting, None)
        _, took = run("building the Rust journey", ["cargo", "build", "-q", "--locked", "--manifest-path", manifest], env=env)
        print(f"clients: rust: the generated client and its journey built in {took:.1f} s")
        journey(
            "rust",
            [os.path.join(OUT, "rust-journey-target", "debug", "marquee-client-journey"), base, outbox],
        )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A bounded schemathesis run against a freshly started local server, as anonymous, as a
user and as an admin: every default check (server errors, status codes, content types,
headers and response schemas against /openapi.json, acceptance of valid and rejection of
invalid data), the examples, fuzzing and stateful phases, a fixed seed. Exits non-zero on
any failure; schemathesis prints each failure with a curl line that reproduces it.

Usage: infra/contract/fuzz.py PATH/TO/marquee-local [--max-examples N]   (run by ./infra/test)
"""

import glob
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

from local_server import scratch_dir, start

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "20261201"
PASSWORD = "Velvet-Lantern-Orbit-42"
# Routes that end the caller's own session or credentials: fuzzed among the others, they
# would sign those runs out halfway, so they get a last run of their own, as an admin of
# their own whose session may end.
SELF_ENDING = [
    "auth-logout",
    "me-sessions-revoke",
    "auth-password-change",
    "auth-mfa-setup",
    "auth-mfa-confirm",
    "auth-mfa-disable",
    "auth-mfa-recovery-codes",
    "me-identities-unlink",
    "admin-users-update",
    "admin-users-mfa-reset",
]


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"content-type": "application/json"},
    )
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=15) as answer:
        raw = answer.read()
        return json.loads(raw) if raw else None


def start_server(binary, data_dir):
    server, base, admin = start(
        binary, data_dir, until="Seeded:", MARQUEE_DEMO_MOVIES="30", MARQUEE_LOG="warn"
    )
    if not base or not admin:
        sys.exit("fuzz: the local server did not print its address and first admin")
    return server, base, admin


def user_token(base, data_dir, name="fuzz"):
    email = f"{name}.{int(time.time() * 1000)}@example.com"
    call(base, "POST", "/auth/register", {"email": email, "password": PASSWORD})
    token = None
    for _ in range(50):
        for path in sorted(glob.glob(os.path.join(data_dir, "outbox", "*.txt"))):
            text = open(path, encoding="utf-8").read()
            if f"To: {email}" in text:
                token = re.search(r"token=([A-Za-z0-9_-]+)", text).group(1)
        if token:
            break
        time.sleep(0.1)
    call(base, "POST", "/auth/activate", {"token": token})
    return call(base, "POST", "/auth/login", {"email": email, "password": PASSWORD})["access_token"]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    examples = sys.argv[sys.argv.index("--max-examples") + 1] if "--max-examples" in sys.argv else "10"
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    data_dir = scratch_dir("marquee-fuzz-")
    server, base, (admin_email, admin_password) = start_server(sys.argv[1], data_dir)
    failed = []
    try:
        callers = [
            ("anonymous", None),
            ("user", user_token(base, data_dir)),
            (
                "admin",
                call(base, "POST", "/auth/login", {"email": admin_email, "password": admin_password})[
                    "access_token"
                ],
            ),
        ]
        # The last caller: a second admin, promoted by the first, for the routes that end
        # their caller's session.
        throwaway = user_token(base, data_dir, "throwaway")
        me = call(base, "GET", "/me", token=throwaway)
        call(base, "PATCH", f"/admin/users/{me['id']}", {"role": "admin"}, token=callers[2][1])
        callers.append(("an admin whose session may end", None))
        for name, token in callers:
            only = None
            if token is None and name != "anonymous":
                token = call(
                    base, "POST", "/auth/login", {"email": me["email"], "password": PASSWORD}
                )["access_token"]
                only = SELF_ENDING
            command = [
                schemathesis,
                "--config-file",
                os.path.join(HERE, "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--seed",
                SEED,
                "--max-examples",
                examples,
                "--phases",
                "examples,fuzzing,stateful",
                "--request-timeout",
                "15",
                "--workers",
                "1",
            ]
            for operation in SELF_ENDING:
                command += ["--include-operation-id" if only else "--exclude-operation-id", operation]
            if token:
                command += ["-H", f"Authorization: Bearer {token}"]
            started = time.monotonic()
            # In the run's own folder: schemathesis keeps a cache where it runs.
            run = subprocess.run(command, capture_output=True, text=True, cwd=data_dir)
            summary = re.search(r"(\d+) generated", run.stdout)
            sent = summary.group(1) if summary else "?"
            print(f"fuzz: as {name}: {sent} test cases, exit {run.returncode}, "
                  f"{time.monotonic() - started:.0f} s")
            if run.returncode != 0 or os.environ.get("MARQUEE_FUZZ_VERBOSE"):
                print(run.stdout[-20000:])
            if run.returncode != 0:
                failed.append(name)
    finally:
        server.terminate()
        server.wait(10)
    if failed:
        sys.exit(f"fuzz: failures as {', '.join(failed)} (each with its curl reproduction above)")


if __name__ == "__main__":
    main()

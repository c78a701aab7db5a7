#!/usr/bin/env python3
"""Runs README's "Running on AWS services, locally" recipe as written, then uses the server.

The shell block after the `aws-recipe` marker in README.md is run by bash, line for line,
from the repository root. Only the two ports change: moto's 5000 becomes a free port, and
the server (which the recipe leaves on its default 127.0.0.1:3000) gets a free one through
MARQUEE_LISTEN. The recipe ends by serving in the foreground, with the demo catalogue
seeded into DynamoDB; once the server prints its banner, this script reads movies and
showtimes of that catalogue, signs up an account, activates it from the email SES received, signs
in, asks for a password reset (an email that goes through the SQS mail queue and the
in-process mail worker) and resets the password with it, and signs in with the printed
admin's credentials. Everything the recipe started is stopped at the end.

Usage: infra/e2e/aws_recipe.py  (stdlib only; run by ./infra/test)
"""

import atexit
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "<!-- aws-recipe"
PASSWORD = "Velvet-Lantern-Orbit-42"
NEW_PASSWORD = "Copper-Meadow-Violin-17"


def recipe() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    start = readme.index(MARKER)
    block = re.search(r"```sh\n(.*?)```", readme[start:], re.S)
    if block is None:
        sys.exit("README.md: no sh block after the aws-recipe marker")
    return block.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """The recipe running in bash, its output collected line by line."""

    def __init__(self, script: str, env: dict):
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, pattern: str, seconds: float) -> re.Match:
        deadline = time.monotonic() + seconds
        seen = 0
        with self.changed:
            while True:
                for line in self.lines[seen:]:
                    found = re.search(pattern, line)
                    if found:
                        return found
                seen = len(self.lines)
                if self.process.poll() is not None:
                    self.fail(f"the recipe ended (exit {self.process.returncode}) before {pattern!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    self.fail(f"no {pattern!r} within {seconds} s")
                self.changed.wait(left)

    def fail(self, why: str):
        # moto's request log is left out: one line per AWS call.
        ours = [line for line in self.lines if not re.search(r'"[A-Z]+ \S+ HTTP/1\.1" \d+', line)]
        print("\n".join(ours[-80:]), file=sys.stderr)
        self.stop()
        sys.exit(f"aws recipe: {why}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def call(base: str, method: str, path: str, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def emails_to(moto: str, address: str) -> list[str]:
    with urllib.request.urlopen(f"{moto}/moto-api/data.json", timeout=15) as answer:
        data = json.load(answer)
    return [
        m.get("body", "")
        for m in data.get("ses", {}).get("Message", [])
        if address in (m.get("destinations", {}).get("ToAddresses") or [])
    ]


def token_in(moto: str, address: str, link: str, seconds: float = 20) -> str:
    """The token of the newest `link?token=` email to `address`, waited for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for body in reversed(emails_to(moto, address)):
            found = re.search(re.escape(link) + r"\?token=([A-Za-z0-9_\-.%]+)", html.unescape(body))
            if found:
                return urllib.request.unquote(found.group(1))
        time.sleep(0.2)
    raise AssertionError(
        f"no {link} email to {address} within {seconds} s; its emails: {emails_to(moto, address)}"
    )


def expect(what: str, status: int, body, wanted: int):
    if status != wanted:
        raise AssertionError(f"{what}: {status} (wanted {wanted}): {body}")


def main():
    moto_port, api_port = free_port(), free_port()
    script = recipe().replace("5000", str(moto_port))
    data_dir = tempfile.mkdtemp(prefix="marquee-recipe-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    env = dict(os.environ)
    # The recipe sets its own AWS settings; none of the caller's may leak in.
    for name in list(env):
        if name.startswith(("AWS_", "MARQUEE_")) and name != "MARQUEE_USAGE_LOG":
            del env[name]
    env.update(
        MARQUEE_LISTEN=f"127.0.0.1:{api_port}",
        MARQUEE_DATA_DIR=data_dir,
        MARQUEE_SWEEP_SECS="2",
    )
    started = time.monotonic()
    run = Run(script, env)
    try:
        base = run.wait_for(r"^Marquee API: (\S+)", 600).group(1)
        admin_email, admin = run.wait_for(r"^First admin: (\S+) / (\S+)", 30).groups()
        print(f"aws recipe: serving at {base} after {time.monotonic() - started:.1f} s")
        moto = f"http://127.0.0.1:{moto_port}"

        # The demo catalogue was seeded into DynamoDB at start: movies and showtimes.
        for path in ("/movies?limit=5", "/showtimes?limit=5"):
            status, page = call(base, "GET", path)
            expect(f"GET {path}", status, page, 200)
            assert page["items"], f"{path}: the demo catalogue is missing: {page}"

        email = f"recipe.{int(time.time() * 1000)}@example.com"
        status, body = call(base, "POST", "/auth/register", {"email": email, "password": PASSWORD})
        expect("sign-up", status, body, 201)
        token = token_in(moto, email, "/activate")
        status, body = call(base, "POST", "/auth/activate", {"token": token})
        expect("activation", status, body, 200)
        status, body = call(base, "POST", "/auth/login", {"email": email, "password": PASSWORD})
        expect("sign-in", status, body, 200)
        status, me = call(base, "GET", "/me", token=body["access_token"])
        expect("GET /me", status, me, 200)
        assert me["email"] == email, me

        status, body = call(base, "POST", "/auth/password/forgot", {"email": email})
        expect("forgot password", status, body, 202)
        token = token_in(moto, email, "/reset-password")
        status, body = call(
            base, "POST", "/auth/password/reset", {"token": token, "new_password": NEW_PASSWORD}
        )
        expect("password reset", status, body, 204)
        status, body = call(base, "POST", "/auth/login", {"email": email, "password": NEW_PASSWORD})
        expect("sign-in with the new password", status, body, 200)

        status, body = call(
            base, "POST", "/auth/login", {"email": admin_email, "password": admin}
        )
        expect("the printed admin signs in", status, body, 200)
        status, users = call(base, "GET", "/admin/users", token=body["access_token"])
        expect("GET /admin/users", status, users, 200)
        assert any(u["email"] == email for u in users["items"]), users
        # The server's background work (the sweeps, every 2 s here, and the workers)
        # answers no request: only its log shows a failure.
        with run.changed:
            errors = [line for line in run.lines if '"level":"ERROR"' in line]
        assert not errors, f"the server logged errors: {errors[:5]}"
        print(f"aws recipe: passed in {time.monotonic() - started:.1f} s")
    except AssertionError as failure:
        run.fail(str(failure))
    finally:
        run.stop()


if __name__ == "__main__":
    main()

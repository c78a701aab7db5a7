#!/usr/bin/env python3
"""Latency of sign-in and of an authenticated GET /me on the local server (embedded backend).

Starts the given marquee-local binary on a free loopback port with a fresh data folder,
creates and activates a user through the API, then times requests over one keep-alive
connection each. Usage: latency.py path/to/marquee-local [--logins 50] [--reads 2000]
"""
import argparse
import glob
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PASSWORD = "Velvet-Lantern-Orbit-42"


def start(binary, data, cpus=None, **settings):
    """Starts the server on a free port (no demo data unless `settings` ask for it); with
    `cpus`, on those cores only, with a worker thread for each."""
    env = dict(os.environ, MARQUEE_LISTEN="127.0.0.1:0", MARQUEE_DATA_DIR=data,
               MARQUEE_LOG="warn", MARQUEE_SEED_ADMIN="false", MARQUEE_DEMO="false")
    env.update(settings)
    env.pop("MARQUEE_BACKEND", None)
    if cpus:
        env["TOKIO_WORKER_THREADS"] = str(len(cpus))
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, text=True,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    for line in proc.stdout:
        if line.startswith("Marquee API: "):
            host, port = line.split("//")[1].strip().split(":")
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, host, int(port)
    sys.exit("the server did not start")


def activation_token(data, email, timeout=10.0):
    """The token of the activation email the server's mail worker sends to `email`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(glob.glob(os.path.join(data, "outbox", "*.txt"))):
            text = open(path).read()
            if f"To: {email}\n" in text:
                return re.search(r"token=([A-Za-z0-9_-]+)", text).group(1)
        time.sleep(0.02)
    sys.exit(f"no activation email to {email}")


def call(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def timed(conn, n, method, path, body=None, token=None, expect=200):
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        status, payload = call(conn, method, path, body, token)
        samples.append((time.perf_counter() - started) * 1000)
        if status != expect:
            sys.exit(f"{method} {path}: {status} {payload[:200]!r}")
    return samples


def pct(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(args.binary, data)
        try:
            conn = http.client.HTTPConnection(host, port)
            email = "bench@example.com"
            status, payload = call(conn, "POST", "/auth/register", {"email": email, "password": PASSWORD})
            assert status == 201, payload
            token = activation_token(data, email)
            status, payload = call(conn, "POST", "/auth/activate", {"token": token})
            assert status == 200, payload
            credentials = {"email": email, "password": PASSWORD}
            logins = timed(conn, args.logins, "POST", "/auth/login", credentials)
            status, payload = call(conn, "POST", "/auth/login", credentials)
            access = json.loads(payload)["access_token"]
            reads = timed(conn, args.reads, "GET", "/me", token=access)

            per_thread = args.reads // args.threads
            results = []

            def worker():
                c = http.client.HTTPConnection(host, port)
                results.extend(timed(c, per_thread, "GET", "/me", token=access))

            threads = [threading.Thread(target=worker) for _ in range(args.threads)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait()
    print(f"{'request':<34}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'POST /auth/login (argon2id)':<34}{len(logins):>6}{pct(logins, 50):>9.2f}{pct(logins, 99):>9.2f}")
    print(f"{'GET /me (JWT + session check)':<34}{len(reads):>6}{pct(reads, 50):>9.2f}{pct(reads, 99):>9.2f}")
    print(f"{'GET /me, ' + str(args.threads) + ' connections':<34}{len(results):>6}{pct(results, 50):>9.2f}{pct(results, 99):>9.2f}"
          f"   {len(results) / elapsed:,.0f} req/s")


if __name__ == "__main__":
    main()

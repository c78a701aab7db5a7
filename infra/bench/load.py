#!/usr/bin/env python3
"""Throughput and latency of the catalogue's reads on the local server under load.

Starts the given marquee-local binary (build it with `cargo build --release -p
marquee-infra --bin marquee-local`) on a fresh embedded store with the demo catalogue,
then drives each request with wrk (Debian's package) for a fixed time over a few
keep-alive connections, and prints a Markdown table: requests/s and wrk's latency
percentiles. wrk and the server share this machine's cores.

Usage: load.py path/to/marquee-local [--movies 1000] [--connections 4] [--threads 2]
                                      [--seconds 10]
"""
import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile

from latency import start

# What is driven, as (label, path); `{id}` becomes a demo movie's id.
REQUESTS = [
    ("`GET /movies` (20 cards, by popularity)", "/movies"),
    ("`GET /movies?sort=title&limit=20`", "/movies?sort=title&limit=20"),
    ("`GET /movies/{id}`", "/movies/{id}"),
]

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, threads, connections, seconds):
    """wrk's requests/s, its latency percentiles in ms, and non-2xx answers."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {}
    for p, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        percentiles[p] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, percentiles, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--movies", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(args.binary, data, MARQUEE_DEMO="true",
                                 MARQUEE_DEMO_MOVIES=str(args.movies))
        try:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("GET", "/movies?limit=1")
            page = json.loads(conn.getresponse().read())
            movie = page["items"][0]["id"]
            print(f"{args.movies} demo movies; wrk -t{args.threads} -c{args.connections} "
                  f"-d{args.seconds}s per request\n")
            print("| request | requests/s | p50 | p90 | p99 |")
            print("|---|---|---|---|---|")
            for label, path in REQUESTS:
                url = f"http://{host}:{port}{path.replace('{id}', movie)}"
                # A short warm-up, so the page cache and connections are settled.
                wrk(url, args.threads, args.connections, 2)
                rate, p, errors = wrk(url, args.threads, args.connections, args.seconds)
                if errors:
                    sys.exit(f"{path}: {errors} answers were not 2xx")
                print(f"| {label} | {rate:,.0f} | {p['50']:.2f} ms | {p['90']:.2f} ms "
                      f"| {p['99']:.2f} ms |")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()

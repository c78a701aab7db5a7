#!/usr/bin/env python3
"""Throughput and latency of the catalogue's reads on the local server under load.

Starts the given marquee-local binary (build it with `cargo build --release -p
marquee-infra --bin marquee-local`) on a fresh embedded store with the demo catalogue,
then drives each request with wrk (Debian's package) for a fixed time over a few
keep-alive connections, and prints a Markdown table: requests/s and wrk's latency
percentiles, the list and the movie page next to their 304 answers and GET /health, and
the goals' verdicts (GET /movies at least a third of /health's requests a second with
p99 <= 2 ms, GET /movies/{id} at least half). It runs twice: as the server runs (public
answers kept in memory until the table changes, as the CDN keeps them deployed), and
with `MARQUEE_KEEP_ANSWERS=false` (every request computed). wrk and the server share
this machine's cores.

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

# What is driven, as (label, path, send the answer's ETag back); `{id}` becomes a demo
# movie's id.
REQUESTS = [
    ("`GET /movies` (20 cards, by popularity)", "/movies", False),
    ("`GET /movies?sort=title&limit=20`", "/movies?sort=title&limit=20", False),
    ("`GET /movies/{id}`", "/movies/{id}", False),
    ("`GET /movies`, `If-None-Match` its tag (304)", "/movies", True),
    ("`GET /movies/{id}`, `If-None-Match` its tag (304)", "/movies/{id}", True),
    ("`GET /health`", "/health", False),
]

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, threads, connections, seconds, headers=()):
    """wrk's requests/s, its latency percentiles in ms, and answers other than 2xx/3xx."""
    extra = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {}
    for p, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        percentiles[p] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, percentiles, int(errors.group(1)) if errors else 0


def run(binary, movies, threads, connections, seconds, **settings):
    """One server's figures: {label: (requests/s, percentiles)}."""
    figures = {}
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(binary, data, MARQUEE_DEMO="true",
                                 MARQUEE_DEMO_MOVIES=str(movies), **settings)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("GET", "/movies?limit=1")
            page = json.loads(conn.getresponse().read())
            movie = page["items"][0]["id"]
            for label, path, revalidate in REQUESTS:
                path = path.replace("{id}", movie)
                headers = []
                if revalidate:
                    conn.request("GET", path)
                    answer = conn.getresponse()
                    answer.read()
                    headers.append(f"If-None-Match: {answer.getheader('ETag')}")
                url = f"http://{host}:{port}{path}"
                # A short warm-up, so the page cache and connections are settled.
                wrk(url, threads, connections, 2, headers)
                rate, p, errors = wrk(url, threads, connections, seconds, headers)
                if errors:
                    sys.exit(f"{path}: {errors} answers were not 2xx or 3xx")
                figures[label] = (rate, p)
        finally:
            proc.terminate()
            proc.wait()
    return figures


def table(title, figures):
    print(f"{title}\n")
    print("| request | requests/s | p50 | p90 | p99 |")
    print("|---|---|---|---|---|")
    for label, (rate, p) in figures.items():
        print(f"| {label} | {rate:,.0f} | {p['50']:.2f} ms | {p['90']:.2f} ms | {p['99']:.2f} ms |")
    health = figures["`GET /health`"][0]
    listed, page = figures[REQUESTS[0][0]], figures[REQUESTS[2][0]]
    print(f"\nGET /movies: {listed[0] / health:.2f} of /health's requests/s (goal >= 0.33), "
          f"p99 {listed[1]['99']:.2f} ms (goal <= 2): "
          f"{'met' if listed[0] / health >= 1 / 3 and listed[1]['99'] <= 2 else 'NOT met'}; "
          f"GET /movies/{{id}}: {page[0] / health:.2f} (goal >= 0.5): "
          f"{'met' if page[0] / health >= 0.5 else 'NOT met'}\n")


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
    shape = (args.binary, args.movies, args.threads, args.connections, args.seconds)
    print(f"{args.movies} demo movies; wrk -t{args.threads} -c{args.connections} "
          f"-d{args.seconds}s per request\n")
    table("As the server runs (public answers kept until the table changes):", run(*shape))
    table("Every request computed (`MARQUEE_KEEP_ANSWERS=false`):",
          run(*shape, MARQUEE_KEEP_ANSWERS="false"))


if __name__ == "__main__":
    main()

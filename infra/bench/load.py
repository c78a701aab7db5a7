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
with `MARQUEE_KEEP_ANSWERS=false` (every request computed). The machine's cores are
split: the server runs on the upper half, with a worker thread per core, and wrk on the
lower half, a thread per core, so that neither waits for the other's threads to leave a
core (on two shared cores, that wait was /health's own p99, 1.2 to 2.6 ms);
`--shared-cores` runs both on every core.

Usage: load.py path/to/marquee-local [--movies 1000] [--connections 4] [--seconds 10]
                                      [--shared-cores [--threads 2]]
"""
import argparse
import http.client
import json
import os
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


def split_cores():
    """The cores for the server and those for wrk: the upper and the lower half of the
    ones this process may use (None for both on a single core)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None
    half = len(cores) // 2
    return set(cores[half:]), set(cores[:half])


def wrk(url, threads, connections, seconds, headers=(), cpus=None):
    """wrk's requests/s, its latency percentiles in ms, and answers other than 2xx/3xx."""
    extra = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        check=True, capture_output=True, text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {}
    for p, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        percentiles[p] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, percentiles, int(errors.group(1)) if errors else 0


def run(binary, movies, threads, connections, seconds, cores, **settings):
    """One server's figures: {label: (requests/s, percentiles)}."""
    server_cores, wrk_cores = cores
    figures = {}
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(binary, data, cpus=server_cores, MARQUEE_DEMO="true",
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
                wrk(url, threads, connections, 2, headers, wrk_cores)
                rate, p, errors = wrk(url, threads, connections, seconds, headers, wrk_cores)
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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--shared-cores", action="store_true")
    parser.add_argument("--threads", type=int, default=2,
                        help="wrk's threads with --shared-cores (else one per core of its own)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    cores = (None, None) if args.shared_cores else split_cores()
    threads = len(cores[1]) if cores[1] else args.threads
    shape = (args.binary, args.movies, threads, args.connections, args.seconds, cores)
    where = ("the server and wrk on the same cores" if not cores[0] else
             f"the server on core(s) {sorted(cores[0])} with a worker thread each, "
             f"wrk on core(s) {sorted(cores[1])}")
    print(f"{args.movies} demo movies; wrk -t{threads} -c{args.connections} "
          f"-d{args.seconds}s per request; {where}\n")
    table("As the server runs (public answers kept until the table changes):", run(*shape))
    table("Every request computed (`MARQUEE_KEEP_ANSWERS=false`):",
          run(*shape, MARQUEE_KEEP_ANSWERS="false"))


if __name__ == "__main__":
    main()

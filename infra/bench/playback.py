#!/usr/bin/env python3
"""Playback on the local server (embedded backend, the demo clip): the latency of
playback-start (a trailer for anyone; a feature for the staff, renewing its grant) and of a
progress beat, then the media route's throughput on Range requests (64 KiB at random
offsets, as a player seeking reads; and whole-file reads), over keep-alive connections.

Usage: playback.py path/to/marquee-local [--starts 500] [--ranges 4000] [--threads 4]
The table calls and units of each route are in docs/cost.md (infra/bench/cost).
"""
import argparse
import json
import random
import re
import sys
import tempfile
import threading
import time
import http.client
import os
import subprocess
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(__file__))
from latency import call, pct, timed  # noqa: E402


def start(binary, data):
    env = dict(os.environ, MARQUEE_LISTEN="127.0.0.1:0", MARQUEE_DATA_DIR=data,
               MARQUEE_LOG="warn", MARQUEE_DEMO_MOVIES="6")
    env.pop("MARQUEE_BACKEND", None)
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, text=True)
    host = port = admin = None
    for line in proc.stdout:
        if line.startswith("Marquee API: "):
            host, port = line.split("//")[1].strip().split(":")
        found = re.match(r"First admin: (\S+) / (\S+)", line)
        if found:
            admin = found.groups()
        if line.startswith("Seeded:"):
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, host, int(port), admin
    sys.exit("the server did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--starts", type=int, default=500)
    parser.add_argument("--ranges", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as data:
        proc, host, port, admin = start(args.binary, data)
        try:
            conn = http.client.HTTPConnection(host, port)
            status, payload = call(conn, "POST", "/auth/login", {"email": admin[0], "password": admin[1]})
            assert status == 200, payload
            token = json.loads(payload)["access_token"]
            status, payload = call(conn, "GET", "/movies?limit=100")
            movie = None
            for card in json.loads(payload)["items"]:
                status, detail = call(conn, "GET", f"/movies/{card['id']}")
                if json.loads(detail)["media"]["feature"]:
                    movie = card["id"]
                    break
            assert movie, "no demo movie carries the clip"
            path = f"/movies/{movie}/playback"
            trailer = timed(conn, args.starts, "POST", path, {"kind": "trailer"})
            status, payload = call(conn, "POST", path, {"kind": "feature"}, token)
            assert status == 200, payload
            played = json.loads(payload)
            feature = timed(conn, args.starts, "POST", path,
                            {"kind": "feature", "grant_id": played["grant_id"]}, token)
            beats = timed(conn, args.starts, "PUT", f"/movies/{movie}/progress",
                          {"position_s": 5.0, "duration_s": 12.0, "grant_id": played["grant_id"]},
                          token, expect=204)
            rows += [("POST playback (trailer, anyone)", trailer),
                     ("POST playback (feature, renew)", feature),
                     ("PUT progress (beat + grant)", beats)]

            url = urlsplit(played["url"])
            media = f"{url.path}?{url.query}"
            status, whole = call(conn, "GET", media)
            assert status == 200, whole[:200]
            size = len(whole)

            def ranges(count, length, results, sent):
                c = http.client.HTTPConnection(host, port)
                rng = random.Random(count)
                for _ in range(count):
                    start = rng.randrange(0, max(1, size - length))
                    end = min(size, start + length) - 1
                    began = time.perf_counter()
                    c.request("GET", media, headers={"Range": f"bytes={start}-{end}"})
                    response = c.getresponse()
                    body = response.read()
                    results.append((time.perf_counter() - began) * 1000)
                    if response.status != 206 or len(body) != end - start + 1:
                        sys.exit(f"range {start}-{end}: {response.status}, {len(body)} bytes")
                    sent.append(len(body))

            for label, length, count in (("GET media, 64 KiB ranges", 64 * 1024, args.ranges),
                                         ("GET media, whole file (206)", size, args.ranges // 8)):
                results, sent = [], []
                per = count // args.threads
                threads = [threading.Thread(target=ranges, args=(per, length, results, sent))
                           for _ in range(args.threads)]
                began = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.perf_counter() - began
                rows.append((f"{label}, {args.threads} conn", results,
                             f"{len(results) / elapsed:,.0f} req/s, {sum(sent) / elapsed / 1e6:,.1f} MB/s"))
        finally:
            proc.terminate()
            proc.wait()
    print(f"{'request':<44}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}")
    for row in rows:
        label, samples = row[0], row[1]
        extra = f"   {row[2]}" if len(row) > 2 else ""
        print(f"{label:<44}{len(samples):>6}{pct(samples, 50):>9.2f}{pct(samples, 99):>9.2f}{extra}")


if __name__ == "__main__":
    main()

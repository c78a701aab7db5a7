#!/usr/bin/env python3
"""Cold-start benchmark: runs a Lambda function binary against a stub Lambda Runtime API
on loopback and measures init time (process start to its first /next), first-invoke
duration (event handed over to response posted) and peak RSS, median of N runs.

Usage: coldstart.py --event EVENT.json [--runs 15] [--env K=V ...] [--goal NAME ...]
                    NAME=BINARY[,EVENT.json][,K=V ...] ...
(a function given its own event gets that one instead of --event's; its K=V are set for it
alone, over --env's)
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from sizes import zipped

RUNTIME = "/2018-06-01/runtime/invocation/"


class Stub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def reset(self, event):
        self.event = event
        self.first_next = None
        self.invoked_at = None
        self.responded_at = None
        self.response = None
        self.done = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        stub = self.server
        if self.path != RUNTIME + "next":
            self.send_error(404)
            return
        now = time.perf_counter()
        if stub.first_next is not None:
            # Second /next: the invoke is complete; leave the function waiting.
            stub.done.set()
            time.sleep(5)
            return
        stub.first_next = now
        body = stub.event
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        stub.invoked_at = time.perf_counter()
        self.wfile.write(body)

    def do_POST(self):
        stub = self.server
        length = int(self.headers.get("Content-Length", 0))
        payload = self.rfile.read(length)
        if self.path.endswith("/response"):
            stub.responded_at = time.perf_counter()
            stub.response = payload
        elif self.path.endswith("/error"):
            stub.response = payload
            stub.done.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_once(stub, binary, env, event):
    stub.reset(event)
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = stub.done.wait(timeout=30)
    rss = peak_rss_kib(proc.pid)
    proc.kill()
    _, err = proc.communicate()
    if not finished or stub.responded_at is None:
        sys.exit(f"{binary} did not answer: {stub.response!r} {err.decode(errors='replace')[-2000:]}")
    answer = json.loads(stub.response)
    if answer.get("statusCode") != 200:
        sys.exit(f"{binary} answered {answer}")
    return {
        "init_ms": (stub.first_next - started) * 1000,
        "first_invoke_ms": (stub.responded_at - stub.invoked_at) * 1000,
        "peak_rss_mib": (rss or 0) / 1024,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--event", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--goal", action="append", default=[],
                        help="a row the goal applies to (init <= 1.5x the first row, "
                             "peak RSS <= 20 MiB), checked on the rounds")
    parser.add_argument("functions", nargs="+")
    args = parser.parse_args()

    stub = Stub(("127.0.0.1", 0), Handler)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{stub.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    })
    env.update(dict(kv.split("=", 1) for kv in args.env))

    functions = []
    for spec in args.functions:
        name, rest = spec.split("=", 1)
        binary, *extras = rest.split(",")
        own_env = dict(env)
        own_env.update(dict(kv.split("=", 1) for kv in extras if "=" in kv))
        event_path = next((e for e in extras if "=" not in e), args.event)
        functions.append((name, binary, own_env, open(event_path, "rb").read()))
        run_once(stub, binary, own_env, functions[-1][3])  # warm the page cache; not counted

    # In rounds (every function once per round), a slower spell of the machine weighs on
    # all of them alike, and no run finds its own previous run still in the CPU's caches:
    # that is the order the goal is checked in. One function after another is printed for
    # comparison: there a spell falls on one function's runs only.
    rounds = {name: [] for name, *_ in functions}
    unknown = [name for name in args.goal if name not in rounds]
    if unknown:
        sys.exit(f"--goal names no function: {', '.join(unknown)}")
    for _ in range(args.runs):
        for name, binary, own_env, event in functions:
            rounds[name].append(run_once(stub, binary, own_env, event))
    report("in rounds", functions, rounds, args.runs, paired=True)
    verdicts = [check_goal(name, rounds[name], rounds[functions[0][0]]) for name in args.goal]
    for line in verdicts:
        print(line)
    if verdicts:
        print()
    apart = {name: [run_once(stub, binary, own_env, event) for _ in range(args.runs)]
             for name, binary, own_env, event in functions}
    report("one function after another, for comparison", functions, apart, args.runs,
           paired=False)


RATIO_GOAL = 1.5
RSS_GOAL_MIB = 20


def median_ratio(runs, first):
    return (statistics.median(r["init_ms"] for r in runs)
            / statistics.median(f["init_ms"] for f in first))


def paired_ratio(runs, first):
    """The median of each round's own ratio: runs taken seconds apart, so the machine's
    slower and faster spells fall on both sides of it."""
    return statistics.median(r["init_ms"] / f["init_ms"] for r, f in zip(runs, first))


def check_goal(name, runs, first):
    """Met when both ratios (of medians, and paired) and the median peak RSS are in bounds."""
    ratio = max(median_ratio(runs, first), paired_ratio(runs, first))
    rss = statistics.median(r["peak_rss_mib"] for r in runs)
    met = ratio <= RATIO_GOAL and rss <= RSS_GOAL_MIB
    return (f"goal for {name} (init <= {RATIO_GOAL}x the first row, peak RSS <= "
            f"{RSS_GOAL_MIB} MiB): {'met' if met else 'MISSED'} ({ratio:.2f}x, {rss:.1f} MiB)")


def report(order, functions, runs, count, paired):
    """`x first` is the ratio of medians; `x paired` (in rounds) is `paired_ratio`."""
    first = runs[functions[0][0]]
    print(f"{'function':<24}{'init ms':>10}{'x first':>9}{'x paired':>10}{'1st invoke ms':>15}"
          f"{'peak RSS MiB':>14}{'binary MiB':>12}{'zip MiB':>9}")
    for name, binary, _, _ in functions:
        med = {k: statistics.median(r[k] for r in runs[name]) for k in runs[name][0]}
        pair = f"{paired_ratio(runs[name], first):>10.2f}" if paired else f"{'':>10}"
        print(f"{name:<24}{med['init_ms']:>10.2f}{median_ratio(runs[name], first):>9.2f}{pair}"
              f"{med['first_invoke_ms']:>15.2f}{med['peak_rss_mib']:>14.1f}"
              f"{os.path.getsize(binary) / 2**20:>12.1f}{zipped(binary) / 2**20:>9.1f}")
    print(f"(median of {count} runs each, {order}; stub Runtime API on loopback)\n")


if __name__ == "__main__":
    main()

"""Starts the local server for the contract checks: a clean configuration (no AWS or
Marquee settings of the caller's, except the usage log that the IAM check reads), a data
folder of its own, a free port; it answers once the server's banner says so."""

import atexit
import os
import re
import shutil
import subprocess
import tempfile


def scratch_dir(prefix: str) -> str:
    """A new folder for a check's server data, removed when the check exits (after its
    `finally` has stopped the server)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def start(binary: str, data_dir: str, until: str = "Marquee API: ", **settings: str):
    """The server process, its base URL and the first admin it printed (or None), once a
    banner line starting with `until` is printed. `settings` are more variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "MARQUEE_")) or k == "MARQUEE_USAGE_LOG"
    }
    env.update(MARQUEE_LISTEN="127.0.0.1:0", MARQUEE_DATA_DIR=data_dir, **settings)
    server = subprocess.Popen(
        [binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    base = admin = None
    for line in server.stdout:
        if line.startswith("Marquee API: "):
            base = line.split(": ", 1)[1].strip()
        found = re.match(r"First admin: (\S+) / (\S+)", line)
        if found:
            admin = found.groups()
        if line.startswith(until):
            return server, base, admin
    raise SystemExit(f"{binary}: the local server ended before printing {until!r}")

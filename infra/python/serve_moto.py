"""Serves the moto AWS stand-in one request at a time.

`moto_server` answers on several threads, and moto's in-memory backends are not safe under
concurrent writes: two simultaneous transactions can lose an ADD. DynamoDB itself applies
them atomically, so the stand-in serialises requests to behave like it for our concurrency
tests. Usage: serve_moto.py HOST PORT
"""

import os
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

"""Serves the moto AWS stand-in one request at a time.

`moto_server` answers on several threads, and moto's in-memory backends are not safe under
concurrent writes: two simultaneous transactions can lose an ADD. DynamoDB itself applies
them atomically, so the stand-in serialises requests to behave like it for our concurrency
tests. Usage: serve_moto.py HOST PORT

Moto also snapshots a table for rollback once per item of a transaction (a full deep copy
each time); the snapshots of one call are identical, so `share_rollback_snapshots` makes one
per table per call. Behaviour is unchanged; transactions on tables of a few thousand items
stop costing seconds.

And moto keeps every model object it ever made (tables, their snapshots, items) for its
dashboard, `/moto-api/data.json`, which the tests read for sent emails: after a few test
files that page grew to megabytes and cost seconds a read. `untrack_models` leaves DynamoDB's and
S3's objects out of that record (the API itself is unchanged): S3's would also keep every
media file in memory, and a part of a finished upload makes that page fail outright.
"""

import os
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def share_rollback_snapshots() -> None:
    import copy
    import functools

    import moto.dynamodb.models as models

    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    class OncePerObject:
        """`copy` for moto's module: deep copies memoised for the length of one call."""

        def __init__(self) -> None:
            self.memo: dict[int, object] | None = None

        def deepcopy(self, value, memo=None):
            # Only whole-table snapshots are shared; items are copied as before.
            if self.memo is None or not isinstance(value, models.Table):
                return copy.deepcopy(value, memo)
            key = id(value)
            if key not in self.memo:
                self.memo[key] = copy.deepcopy(value)
            return self.memo[key]

        def __getattr__(self, name):
            return getattr(copy, name)

    shim = OncePerObject()
    models.copy = shim

    @functools.wraps(original)
    def transact_write_items(self, transact_items):
        shim.memo = {}
        try:
            return original(self, transact_items)
        finally:
            shim.memo = None

    backend.transact_write_items = transact_write_items


def untrack_models() -> None:
    from moto.dynamodb.models import dynamo_type, table
    from moto.s3 import models as s3

    class Untracked(list):
        def append(self, _instance) -> None:
            pass

    for model in (
        dynamo_type.Item,
        table.SecondaryIndex,
        table.LocalSecondaryIndex,
        table.GlobalSecondaryIndex,
        table.StreamRecord,
        table.StreamShard,
        table.Table,
        table.RestoredTable,
        table.RestoredPITTable,
        s3.FakeKey,
        s3.FakeMultipart,
        s3.FakeDeleteMarker,
    ):
        model.instances_tracked = Untracked()


def main() -> None:
    share_rollback_snapshots()
    untrack_models()
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

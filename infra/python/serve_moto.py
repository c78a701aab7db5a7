"""Serves the moto AWS stand-in one request at a time.

`moto_server` answers on several threads, and moto's in-memory backends are not safe under
concurrent writes: two simultaneous transactions can lose an ADD. DynamoDB itself applies
them atomically, so the stand-in serialises requests to behave like it for our concurrency
tests. Usage: serve_moto.py HOST PORT

Moto also snapshots a table for rollback before a transaction, a full deep copy per item the
transaction names: on a table of a few thousand items, most of the transaction's time.
`snapshot_touched_items` keeps instead what each item the transaction names held, and how
long each table's stream was, and puts exactly those back when it fails (as moto's own
rollback did, the stream loses the failed transaction's records). Behaviour is unchanged.

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


def snapshot_touched_items() -> None:
    import copy
    import functools

    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType

    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    class TablesKept:
        """`copy` for moto's module: during a transaction, a table is "copied" as itself
        (the transaction's own rollback then changes nothing); anything else is copied as
        before."""

        def __init__(self) -> None:
            self.active = False

        def deepcopy(self, value, memo=None):
            if self.active and isinstance(value, models.Table):
                return value
            return copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

    shim = TablesKept()
    models.copy = shim

    def key_of(table, op_type, op):
        attrs = op["Item"] if op_type == "Put" else op["Key"]
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        return hash_key, range_key

    def restore(table, hash_key, range_key, item) -> None:
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
            if hash_key in table.items and not table.items[hash_key]:
                del table.items[hash_key]
        else:
            table.items[hash_key][range_key] = item

    @functools.wraps(original)
    def transact_write_items(self, transact_items):
        # What each item of the transaction held before it, and how long each table's
        # stream was: a failed transaction puts exactly those back.
        snapshots = []
        streams = {}
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                hash_key, range_key = key_of(table, op_type, op)
            except (KeyError, StopIteration, AttributeError, TypeError):
                continue  # moto refuses the malformed operation before it writes
            before = table.get_item(hash_key, range_key)
            snapshots.append((table, hash_key, range_key, copy.deepcopy(before)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        shim.active = True
        try:
            return original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(snapshots):
                restore(table, hash_key, range_key, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            shim.active = False

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
    snapshot_touched_items()
    untrack_models()
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

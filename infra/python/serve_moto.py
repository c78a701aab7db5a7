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

And moto keeps every model object it ever made (tables, items, queues, messages, buckets)
for its dashboard, `/moto-api/data.json`, which the tests read for sent emails: the page
grew with every object of the run, and writing it out (each attribute of each object tried
as JSON) took a fifth of the stand-in's time over the suite. `track_only_sent_mail` keeps
only what the tests read there, the SES messages (the API itself is unchanged); S3's
objects would also keep every media file in memory, and a part of a finished upload made
that page fail outright.

Last, moto finds a query's candidates by sorting every item of the table, then sorts the
matches again: `query_only_what_can_match` gives a query of the table only its partition's
items, and one of an index every item unsorted (same answers). And it writes each attribute
value of each item out through the service's generic, shape-driven serializer:
`attribute_values_as_json` writes those it holds in their wire form already as they are
(strings, numbers, booleans, nulls, sets of those, maps and lists of them; binary values
still go the generic way).
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


def query_only_what_can_match() -> None:
    import functools

    from moto.dynamodb.models.table import Table

    original = Table.query

    @functools.wraps(original)
    def query(self, hash_key, *args, **kwargs):
        # moto reads `all_items()` for the candidates, which sorts the whole table, and then
        # sorts the matches again. A query of the table needs only its partition's items;
        # one of an index walks every item still, but unsorted.
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is None and hash_key is not None and self.range_key_attr:
            candidates = list(self.items.get(hash_key, {}).values())
        elif self.range_key_attr:
            candidates = [item for partition in self.items.values() for item in partition.values()]
        else:
            candidates = list(self.items.values())
        self.all_items = lambda: candidates
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def attribute_values_as_json() -> None:
    import functools

    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def plain(value):
        """The wire form of an attribute value moto holds as JSON already, or None when it
        holds something else (binary data, say): that goes the generic way."""
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((kind, inner),) = value.items()
        if kind in ("S", "N") and isinstance(inner, (str, int, float)):
            return {kind: str(inner)}
        if kind in ("BOOL", "NULL") and isinstance(inner, bool):
            return {kind: inner}
        if kind in ("SS", "NS") and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
            return {kind: list(inner)}
        if kind == "M" and isinstance(inner, dict):
            members = {k: plain(v) for k, v in inner.items()}
            return None if any(v is None for v in members.values()) else {"M": members}
        if kind == "L" and isinstance(inner, list):
            members = [plain(v) for v in inner]
            return None if any(v is None for v in members) else {"L": members}
        return None

    @functools.wraps(original)
    def serialize_structure(self, serialized, value, shape, key):
        # An item's every attribute value goes through the generic, shape-driven
        # serializer, member by member: most of moto's time on a query.
        if shape.name == "AttributeValue" and key:
            wire = plain(value)
            if wire is not None:
                serialized[key] = wire
                return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure


def track_only_sent_mail() -> None:
    from moto.core import base_backend
    from moto.core.model_instances import model_data

    # What the tests read of the dashboard: the emails SES sent.
    kept = {("ses", "Message")}

    class Untracked(list):
        def append(self, _instance) -> None:
            pass

    def untrack(service: str, name: str, model) -> None:
        if (service, name) not in kept:
            model.instances_tracked = Untracked()

    for service, models in model_data.items():
        for name, model in models.items():
            untrack(service, name, model)

    # Most models are defined later, when a service's backend is first used.
    tracker = base_backend.InstanceTrackerMeta
    define = tracker.__new__

    def define_untracked(meta, name, bases, namespace):
        model = define(meta, name, bases, namespace)
        if name != "BaseModel":
            untrack(model.__module__.split(".")[1], name, model)
        return model

    tracker.__new__ = staticmethod(define_untracked)


def main() -> None:
    snapshot_touched_items()
    query_only_what_can_match()
    attribute_values_as_json()
    track_only_sent_mail()
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

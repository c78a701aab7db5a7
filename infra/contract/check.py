#!/usr/bin/env python3
"""Checks the API contract as clients read it: /openapi.json of a freshly started local
server must pass an independent validator (openapi-spec-validator), resolve every
reference, and be read by a client generator (openapi-typescript) whose output then
type-checks (tsc --strict).

Usage: infra/contract/check.py PATH/TO/marquee-local   (run by ./infra/test)
"""

import json
import os
import subprocess
import sys
import urllib.request

from local_server import scratch_dir, start

HERE = os.path.dirname(os.path.abspath(__file__))


def dangling(doc, value, found):
    if isinstance(value, dict):
        target = value.get("$ref")
        if isinstance(target, str):
            node = doc
            for part in target.lstrip("#/").split("/"):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                found.add(target)
        for member in value.values():
            dangling(doc, member, found)
    elif isinstance(value, list):
        for item in value:
            dangling(doc, item, found)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    from openapi_spec_validator import validate

    work = scratch_dir("marquee-contract-")
    server, base, _ = start(sys.argv[1], os.path.join(work, "data"), MARQUEE_DEMO="false")
    try:
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=15) as answer:
            doc = json.load(answer)
    finally:
        server.terminate()
        server.wait(10)
    path = os.path.join(work, "openapi.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)

    try:
        validate(doc)
    except Exception as invalid:  # the validator's own error types
        sys.exit(f"contract: /openapi.json is not a valid OpenAPI document: {str(invalid)[:2000]}")
    operations = sum(len(item) for item in doc["paths"].values())
    print(f"contract: openapi-spec-validator passed ({operations} operations, "
          f"{len(doc['components']['schemas'])} schemas)")
    refs = set()
    dangling(doc, doc, refs)
    if refs:
        sys.exit(f"contract: references to nothing: {sorted(refs)}")

    bin_dir = os.path.join(HERE, "node_modules", ".bin")
    client = os.path.join(work, "marquee-api.d.ts")
    for command in (
        [os.path.join(bin_dir, "openapi-typescript"), path, "-o", client],
        [os.path.join(bin_dir, "tsc"), "--noEmit", "--strict", client],
    ):
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            print(run.stdout, run.stderr, file=sys.stderr)
            sys.exit(f"contract: {os.path.basename(command[0])} failed")
    with open(client, encoding="utf-8") as f:
        generated = f.read()
    missing = [
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if f'"{op["operationId"]}"' not in generated and f"{op['operationId']}:" not in generated
    ]
    if missing:
        sys.exit(f"contract: the generated client lacks operations {missing}")
    print(f"contract: openapi-typescript generated a client of {len(generated)} bytes that "
          f"type-checks, with all {operations} operations")


if __name__ == "__main__":
    main()

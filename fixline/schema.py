"""JSON Schema of every bus contract: ``python -m fixline.schema [--check]``.

The checked-in file is ``proto/schema/contracts.schema.json``; a test fails when it drifts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import msgspec

from fixline_proto.commands import AnyCallControl, BridgeCapacity, CommandAck, DialCall, ServiceHeartbeat
from fixline_proto.events import AnyEvent
from fixline_proto.tools import AnyToolRequest, AnyToolResult

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "proto" / "schema" / "contracts.schema.json"
ROOTS = {
    "Event": AnyEvent,
    "ToolRequest": AnyToolRequest,
    "ToolResult": AnyToolResult,
    "CallControl": AnyCallControl,
    "DialCall": DialCall,
    "CommandAck": CommandAck,
    "BridgeCapacity": BridgeCapacity,
    "ServiceHeartbeat": ServiceHeartbeat,
}


def render() -> str:
    schemas, components = msgspec.json.schema_components(list(ROOTS.values()))
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Fixline bus contracts",
        "roots": dict(zip(ROOTS, schemas, strict=True)),
        "$defs": components,
    }
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the checked-in schema differs")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text() != text:
            print(f"{SCHEMA_PATH} is out of date: run `make schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(text)
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

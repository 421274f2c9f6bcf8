"""Floor (c): read every capture line and JSON-decode it, nothing else.

``--decoder orjson`` is the floor our job is held to (it decodes with orjson); ``--decoder json`` shows the
standard library's cost for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--decoder", choices=["orjson", "json"], default="orjson")
    args = parser.parse_args()
    loads: Callable[[bytes], Any]
    if args.decoder == "orjson":
        import orjson  # noqa: PLC0415 - the decoder under test

        loads = orjson.loads
    else:
        loads = json.loads
    lines = 0
    for path in sorted(args.input.rglob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                loads(line)
                lines += 1
    print(json.dumps({"lines": lines}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

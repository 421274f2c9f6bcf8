"""Peer (b): read the same capture files into pandas, then run Evidently's DataDriftPreset on them.

Run in its own process by run.py, with an interpreter that has ``evidently`` (pinned in RESULTS.md). Decoding
uses orjson, the same decoder as our job, and the CSV payloads are parsed by pandas' C reader, so the peer
is not slowed down by a naive loader. The reference is the same sample our baseline was computed from.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import orjson
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def read_capture(directory: Path, names: list[str]) -> pd.DataFrame:
    rows: list[str] = []
    predictions: list[str] = []
    for path in sorted(directory.rglob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                capture = orjson.loads(line)["captureData"]
                rows.append(capture["endpointInput"]["data"])
                predictions.append(capture["endpointOutput"]["data"])
    frame = pd.read_csv(io.StringIO("\n".join(rows)), header=None, names=names)
    frame["prediction"] = pd.to_numeric(pd.Series(predictions))
    return frame


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--reference", type=Path, required=True, help="CSV with a header row")
    parser.add_argument("--schema", type=Path, required=True, help="job config JSON (feature names and types)")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    config = json.loads(args.schema.read_text(encoding="utf-8"))
    names = [f["name"] for f in config["features"]]
    categorical = [f["name"] for f in config["features"] if f["type"] == "String"]
    numerical = [n for n in names if n not in categorical] + ["prediction"]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    reference = Dataset.from_pandas(pd.read_csv(args.reference), data_definition=definition)
    current = Dataset.from_pandas(read_capture(args.input, names), data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(snapshot.json(), encoding="utf-8")
    drifted = [test["name"] for test in snapshot.dict().get("tests", []) if test.get("status") == "FAIL"]
    print(json.dumps({"failed_tests": len(drifted), "examples": drifted[:5]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
from typing import Any

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
    print(json.dumps(drift_verdicts(snapshot.dict()["metrics"])))
    return 0


def drift_verdicts(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Evidently's own count of drifted columns, and the columns whose drift score crossed their threshold.

    DataDriftPreset's defaults at this size are distances (normed Wasserstein for numeric columns,
    Jensen-Shannon for categorical ones) that mean drift at or above the threshold; a p-value test (smaller
    samples) means drift below it.
    """
    count = next(m["value"]["count"] for m in metrics if m["config"]["type"].endswith("DriftedColumnsCount"))
    drifted = []
    for metric in metrics:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        p_value = "p_value" in config["method"].lower().replace("-", "_").replace(" ", "_")
        value, threshold = float(metric["value"]), float(config["threshold"])
        if (value < threshold) if p_value else (value >= threshold):
            drifted.append(config["column"])
    return {"drifted_columns_count": int(count), "drifted": drifted}


if __name__ == "__main__":
    sys.exit(main())

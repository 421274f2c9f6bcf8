"""Ours, the baseline: statistics.json + constraints.json from the reference sample, as the pipeline's Baseline step
computes them (``pipeline_defs.scripts.stats``: the same reading and statistics code, given the column types of
the job config instead of the model spec).

Evidently profiles the reference inside every run; our job reads a baseline computed once per model version.
run.py times this runner so that the record can state the two side by side: the job alone (baseline
precomputed) and the job plus building its baseline from the same reference Evidently reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline_defs.scripts.stats import read_csv_with_header, suggest_constraints  # noqa: E402 - after the path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", type=Path, required=True, help="CSV with a header row")
    parser.add_argument("--config", type=Path, required=True, help="job config JSON (feature names and types)")
    parser.add_argument("--output", type=Path, required=True, help="folder for statistics.json, constraints.json")
    args = parser.parse_args()
    config = json.loads(args.config.read_text(encoding="utf-8"))
    columns = [*config["features"], config["prediction"]]
    types = {c["name"]: c["type"] for c in columns}
    statistics = read_csv_with_header(args.reference, types).to_json()
    constraints = suggest_constraints(statistics, drift_thresholds={c["name"]: c["drift_threshold"] for c in columns})
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "statistics.json").write_text(json.dumps(statistics), encoding="utf-8")
    (args.output / "constraints.json").write_text(json.dumps(constraints), encoding="utf-8")
    print(json.dumps({"rows": statistics["dataset"]["item_count"], "columns": len(columns)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

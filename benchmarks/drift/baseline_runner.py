"""Ours, the baseline: statistics.json + constraints.json from the reference sample, as the pipeline's Baseline step
computes them (``monitor_stats.suggest``: the same reading and statistics code, given the monitored columns of
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

from monitor_stats.suggest import read_model_input_csv, suggest_baseline  # noqa: E402 - after the path
from monitoring_job.config import load_job_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", type=Path, required=True, help="CSV with a header row")
    parser.add_argument("--config", type=Path, required=True, help="job config JSON (the monitored columns)")
    parser.add_argument("--output", type=Path, required=True, help="folder for statistics.json, constraints.json")
    args = parser.parse_args()
    columns = load_job_config(args.config).monitored
    statistics, constraints = suggest_baseline(read_model_input_csv(args.reference, columns), columns)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "statistics.json").write_text(json.dumps(statistics), encoding="utf-8")
    (args.output / "constraints.json").write_text(json.dumps(constraints), encoding="utf-8")
    print(json.dumps({"rows": statistics["dataset"]["item_count"], "columns": len(columns)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

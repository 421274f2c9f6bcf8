"""Shared helpers: run the job the way SageMaker does (the CLI) on synthetic capture data in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitoring_job.cli import main
from monitoring_job.synthetic import Scenario


def run(scenario: Scenario, output: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Exit status and the drift report of one ``analyze`` run."""
    status = main(scenario.cli_args(output, *extra))
    report = json.loads((output / "drift_report.json").read_text(encoding="utf-8")) if status != 1 else {}
    return status, report


def flagged(output: Path) -> set[str]:
    """Features with a baseline_drift_check violation."""
    violations = json.loads((output / "constraint_violations.json").read_text(encoding="utf-8"))["violations"]
    return {v["feature_name"] for v in violations if v["constraint_check_type"] == "baseline_drift_check"}

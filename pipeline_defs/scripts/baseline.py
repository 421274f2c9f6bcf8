"""Baseline step: the monitoring baselines registered with the model package.

Inputs: ``baseline.csv`` from the preprocess step (the training rows' model inputs with a header of feature
names: what the endpoint receives and data capture records), ``baseline-scores.csv`` from the score step (the
candidate's score of each of those rows, computed on the image that trained it) and ``evaluation.json`` from the
evaluation step. Outputs (``--output-dir``):

  ``data-quality/statistics.json``, ``data-quality/constraints.json``
        the data-quality baseline of the model's monitored columns (``monitor_stats``, the module the drift job
        reads it with): every input feature in spec order with the spec's type (a categorical as its category
        label, decoded from the captured vocabulary code exactly as the drift job decodes captures), then
        ``prediction``, the candidate's score of each row as the endpoint would return it. Drift thresholds:
        the spec's default, with per-feature overrides where the spec sets one.
  ``model-quality/statistics.json``, ``model-quality/constraints.json``
        the candidate's test-set metrics and ``binary_classification_constraints`` that flag a metric
        falling more than ``--quality-tolerance`` (relative) below it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monitor_stats.columns import PREDICTION, spec_columns
from monitor_stats.errors import BaselineError
from monitor_stats.suggest import read_model_input_csv, suggest_baseline
from pipeline_defs.scripts.base import BASELINE_SCORES_FILE
from pipeline_defs.scripts.common import StepInputError, read_json, run_main, single_file, write_json
from pipeline_defs.scripts.spec import StepSpec, load_step_spec

# Model-quality metrics a drop in which is a violation (the rest of the evaluation is informational).
MODEL_QUALITY_METRICS = ("auc", "pr_auc", "accuracy", "precision", "recall", "f1")


def data_quality_baseline(
    spec: StepSpec, baseline_csv: Path, scores_csv: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) of the baseline rows and the candidate's scores of them."""
    # The model's monitored columns: the drift job's config is built with the same function from the same spec.
    columns = spec_columns(spec)
    inputs = [c for c in columns if c.name != PREDICTION]
    try:
        values: dict[str, Any] = read_model_input_csv(baseline_csv, inputs)
    except BaselineError as error:
        raise StepInputError(f"baseline data: {error}") from None
    empty = [c.name for c in inputs if c.kind.is_numeric and not np.isfinite(values[c.name]).any()]
    if empty:
        raise StepInputError(f"baseline data: column(s) {empty} have no numeric values")
    values[PREDICTION] = _scores(scores_csv, rows=len(values[inputs[0].name]))
    return suggest_baseline(values, columns, default_drift_threshold=spec.default_drift_threshold)


def _scores(scores_csv: Path, *, rows: int) -> Any:
    """The candidate's score of every baseline row, in the rows' order (the score step's ``baseline-scores.csv``)."""
    try:
        scores = np.loadtxt(scores_csv, delimiter=",", skiprows=1, dtype=np.float64, ndmin=1)
    except ValueError as error:
        raise StepInputError(f"baseline scores: '{scores_csv.name}' is not one column of numbers ({error})") from None
    if scores.ndim != 1 or scores.size != rows:
        raise StepInputError(f"baseline scores: '{scores_csv.name}' has {scores.size} scores for {rows} baseline rows")
    return scores


def model_quality_constraints(metrics: Mapping[str, Any], *, relative_tolerance: float) -> dict[str, Any]:
    """Model-quality ``constraints.json``: alarm when a metric falls below ``(1 - tolerance) x`` baseline."""
    if not 0.0 <= relative_tolerance < 1.0:
        raise StepInputError(f"quality tolerance {relative_tolerance} must be in [0, 1)")
    constraints = {}
    for name in MODEL_QUALITY_METRICS:
        if name in metrics:
            constraints[name] = {
                "threshold": round(float(metrics[name]["value"]) * (1.0 - relative_tolerance), 6),
                "comparison_operator": "LessThanThreshold",
            }
    return {"version": 0.0, "binary_classification_constraints": constraints}


def model_quality_baseline(evaluation: Any, tolerance: float) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        metrics = evaluation["binary_classification_metrics"]
        rows = int(evaluation["test_set"]["rows"])
    except (KeyError, TypeError, ValueError):
        raise StepInputError("evaluation.json: missing 'binary_classification_metrics' or 'test_set'") from None
    constraints = model_quality_constraints(metrics, relative_tolerance=tolerance)
    statistics = {"version": 0.0, "dataset": {"item_count": rows}, "binary_classification_metrics": metrics}
    return statistics, constraints


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baseline", description="Monitoring baselines.")
    parser.add_argument("--spec", type=Path, default=Path("/opt/ml/processing/code/spec.json"))
    parser.add_argument(
        "--baseline-data",
        type=Path,
        default=Path("/opt/ml/processing/input/baseline"),
        help="baseline.csv or its directory",
    )
    parser.add_argument(
        "--scores",
        type=Path,
        default=Path("/opt/ml/processing/input/scores"),
        help=f"the score step's {BASELINE_SCORES_FILE} or its directory",
    )
    parser.add_argument(
        "--evaluation",
        type=Path,
        default=Path("/opt/ml/processing/input/evaluation"),
        help="evaluation.json or its directory",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/baselines"))
    parser.add_argument("--quality-tolerance", type=float, default=0.1)
    return parser


def _run(args: argparse.Namespace) -> None:
    spec = load_step_spec(args.spec)
    baseline_csv = single_file(args.baseline_data, "*.csv", "baseline data")
    scores_csv = single_file(args.scores, BASELINE_SCORES_FILE, "baseline scores")
    statistics, constraints = data_quality_baseline(spec, baseline_csv, scores_csv)
    write_json(args.output_dir / "data-quality" / "statistics.json", statistics)
    write_json(args.output_dir / "data-quality" / "constraints.json", constraints)
    evaluation = read_json(single_file(args.evaluation, "evaluation.json", "evaluation"), "evaluation")
    quality_statistics, quality_constraints = model_quality_baseline(evaluation, args.quality_tolerance)
    write_json(args.output_dir / "model-quality" / "statistics.json", quality_statistics)
    write_json(args.output_dir / "model-quality" / "constraints.json", quality_constraints)
    print(f"baseline: {statistics['dataset']['item_count']} rows, {len(statistics['features'])} columns")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

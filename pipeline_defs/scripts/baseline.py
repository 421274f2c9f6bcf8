"""Baseline step: the monitoring baselines registered with the model package.

Inputs: ``baseline.csv`` from the preprocess step (the training rows' model inputs with a header of
feature names, i.e. what the endpoint receives and data capture records) and ``evaluation.json`` from the
evaluation step. Outputs (``--output-dir``):

  ``data-quality/statistics.json``, ``data-quality/constraints.json``
        Model Monitor data-quality formats (``pipeline_defs.scripts.stats``). Column types come from the
        spec; a categorical feature arrives encoded as its vocabulary index, so it is ``Integral`` here.
        Drift thresholds: the spec's default, with per-feature overrides where the spec sets one.
  ``model-quality/statistics.json``, ``model-quality/constraints.json``
        the candidate's test-set metrics and ``binary_classification_constraints`` that flag a metric
        falling more than ``--quality-tolerance`` (relative) below it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline_defs.scripts.common import StepInputError, read_json, run_main, single_file, write_json
from pipeline_defs.scripts.spec import StepSpec, load_step_spec
from pipeline_defs.scripts.stats import (
    INTEGRAL,
    StatisticsError,
    model_quality_constraints,
    read_csv_with_header,
    suggest_constraints,
)


def model_input_types(spec: StepSpec) -> dict[str, str]:
    """Monitor column types of the model input: categoricals are encoded, hence Integral."""
    return {f.name: INTEGRAL if f.is_categorical else f.type for f in spec.features}


def data_quality_baseline(spec: StepSpec, baseline_csv: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    header = baseline_csv.read_text(encoding="utf-8").partition("\n")[0].strip().split(",")
    if header != list(spec.feature_names):
        raise StepInputError(
            f"baseline data: header {header} is not the spec's feature order {list(spec.feature_names)}"
        )
    try:
        statistics = read_csv_with_header(baseline_csv, model_input_types(spec)).to_json()
    except StatisticsError as error:
        raise StepInputError(f"baseline data: {error}") from None
    mismatched = [
        f["name"]
        for f in statistics["features"]
        if f.get("numerical_statistics", {}).get("common", {}).get("num_present", 1) == 0
    ]
    if mismatched:
        raise StepInputError(f"baseline data: column(s) {mismatched} have no numeric values")
    constraints = suggest_constraints(
        statistics,
        default_drift_threshold=spec.default_drift_threshold,
        drift_thresholds={f.name: f.drift_threshold for f in spec.features},
    )
    return statistics, constraints


def model_quality_baseline(evaluation: Any, tolerance: float) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        metrics = evaluation["binary_classification_metrics"]
        rows = int(evaluation["test_set"]["rows"])
    except (KeyError, TypeError, ValueError):
        raise StepInputError("evaluation.json: missing 'binary_classification_metrics' or 'test_set'") from None
    try:
        constraints = model_quality_constraints(metrics, relative_tolerance=tolerance)
    except StatisticsError as error:
        raise StepInputError(str(error)) from None
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
    statistics, constraints = data_quality_baseline(spec, single_file(args.baseline_data, "*.csv", "baseline data"))
    write_json(args.output_dir / "data-quality" / "statistics.json", statistics)
    write_json(args.output_dir / "data-quality" / "constraints.json", constraints)
    evaluation = read_json(single_file(args.evaluation, "evaluation.json", "evaluation"), "evaluation")
    quality_statistics, quality_constraints = model_quality_baseline(evaluation, args.quality_tolerance)
    write_json(args.output_dir / "model-quality" / "statistics.json", quality_statistics)
    write_json(args.output_dir / "model-quality" / "constraints.json", quality_constraints)
    print(f"baseline: {statistics['dataset']['item_count']} rows, {len(statistics['features'])} features")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""The Baseline step: the data-quality baseline of the model's monitored columns, in the drift job's format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config import FRAUD_DETECTION
from monitor_stats.baseline import column_mismatches, load_baseline
from monitor_stats.schema import validate_constraints, validate_statistics
from monitoring_job.config import job_config_from_spec, parse_job_config
from pipeline_defs.scripts import baseline
from pipeline_defs.scripts.score import load_model, predict
from tests.support.baselines import baseline_step_outputs
from tests.unit.pipeline_scripts.conftest import SPEC

MERCHANT_CATEGORIES = FRAUD_DETECTION.category_vocabularies["merchant_category"]


@pytest.fixture(scope="module")
def step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of one real Baseline step run (its inputs and its ``baselines/`` output)."""
    root = tmp_path_factory.mktemp("baseline-step")
    baseline_step_outputs(root)
    return root


def read(step: Path, name: str) -> dict[str, Any]:
    return json.loads((step / "baselines" / name).read_text())


def feature(statistics: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in statistics["features"] if f["name"] == name)


def test_every_feature_in_spec_order_with_the_specs_type_then_the_prediction(step: Path) -> None:
    statistics = read(step, "data-quality/statistics.json")

    assert [f["name"] for f in statistics["features"]] == [*SPEC.feature_names, "prediction"]
    types = {f["name"]: f["inferred_type"] for f in statistics["features"]}
    assert types == {**{f.name: f.type for f in SPEC.features}, "prediction": "Fractional"}
    assert validate_statistics(statistics) == []
    assert validate_constraints(read(step, "data-quality/constraints.json")) == []


def test_a_categorical_is_counted_by_its_label_decoded_from_the_captured_code(step: Path) -> None:
    rows = (step / "data" / "baseline.csv").read_text().splitlines()[1:]
    column = SPEC.feature_names.index("merchant_category")
    codes = [int(row.split(",")[column]) for row in rows]

    buckets = feature(read(step, "data-quality/statistics.json"), "merchant_category")["string_statistics"]

    counts = {b["value"]: b["count"] for b in buckets["distribution"]["categorical"]["buckets"]}
    assert counts == {MERCHANT_CATEGORIES[c]: float(codes.count(c)) for c in set(codes)}
    domain = feature(read(step, "data-quality/constraints.json"), "merchant_category")["string_constraints"]
    assert set(domain["domains"]) <= set(MERCHANT_CATEGORIES)


def test_the_prediction_is_the_candidates_score_of_each_baseline_row(step: Path) -> None:
    # Scored again here from the model itself: the Score step's baseline-scores.csv must be these numbers.
    matrix = np.loadtxt(step / "data" / "baseline.csv", delimiter=",", skiprows=1)
    scores = predict(load_model(step / "model", "model"), matrix, "model")

    stats = feature(read(step, "data-quality/statistics.json"), "prediction")["numerical_statistics"]

    assert stats["common"] == {"num_present": len(scores), "num_missing": 0}
    assert stats["mean"] == pytest.approx(float(scores.mean()))
    assert (stats["min"], stats["max"]) == pytest.approx((float(scores.min()), float(scores.max())))


def test_drift_thresholds_are_the_specs(step: Path) -> None:
    constraints = read(step, "data-quality/constraints.json")

    overrides = {
        f["name"]: f["monitoringConfigOverrides"]["distribution_constraints"]["comparison_threshold"]
        for f in constraints["features"]
        if "monitoringConfigOverrides" in f
    }
    assert overrides == {
        name: FRAUD_DETECTION.drift_threshold_of(name)
        for name in FRAUD_DETECTION.feature_names
        if FRAUD_DETECTION.drift_threshold_of(name) != FRAUD_DETECTION.default_drift_threshold
    }
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1


def test_the_drift_jobs_reader_finds_exactly_the_columns_its_config_monitors(step: Path) -> None:
    config = parse_job_config(job_config_from_spec(FRAUD_DETECTION, endpoint_name="e", environment="dev"))

    assert column_mismatches(load_baseline(step / "baselines" / "data-quality"), config.monitored) == []


def test_the_model_quality_baseline_flags_a_relative_drop(step: Path) -> None:
    assert read(step, "model-quality/constraints.json") == {
        "version": 0.0,
        "binary_classification_constraints": {
            "pr_auc": {"threshold": 0.45, "comparison_operator": "LessThanThreshold"}
        },
    }
    assert baseline.model_quality_constraints({"f1": {"value": 0.8}}, relative_tolerance=0.1) == {
        "version": 0.0,
        "binary_classification_constraints": {"f1": {"threshold": 0.72, "comparison_operator": "LessThanThreshold"}},
    }


def run_step(step: Path, data: Path, out: Path) -> int:
    return baseline.main(
        [
            "--spec",
            str(step / "spec.json"),
            "--baseline-data",
            str(data),
            "--scores",
            str(step / "scores"),
            "--evaluation",
            str(step / "evaluation.json"),
            "--output-dir",
            str(out),
        ]
    )


def test_columns_out_of_spec_order_are_refused(step: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = list(reversed(SPEC.feature_names))
    (tmp_path / "baseline.csv").write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")

    assert run_step(step, tmp_path / "baseline.csv", tmp_path / "out") == 2
    assert "is not the model's input columns in order" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_non_numeric_value_in_a_numeric_column_is_named(
    step: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (step / "data" / "baseline.csv").read_text().splitlines()
    lines[3] = "abc" + lines[3][lines[3].index(",") :]
    (tmp_path / "baseline.csv").write_text("\n".join(lines) + "\n")

    assert run_step(step, tmp_path / "baseline.csv", tmp_path / "out") == 2
    assert "line 4: 'abc' in numeric column 'amount' is not a number" in capsys.readouterr().err


def test_scores_that_do_not_match_the_baseline_rows_are_refused(
    step: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (step / "data" / "baseline.csv").read_text().splitlines()
    (tmp_path / "baseline.csv").write_text("\n".join(lines[:-1]) + "\n")  # one row fewer than was scored

    assert run_step(step, tmp_path / "baseline.csv", tmp_path / "out") == 2
    assert f"has {len(lines) - 1} scores for {len(lines) - 2} baseline rows" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

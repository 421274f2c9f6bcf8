"""Monitoring statistics and constraints: Model Monitor's formats, exact moments, mergeable shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_defs.scripts import baseline
from pipeline_defs.scripts.stats import (
    FRACTIONAL,
    INTEGRAL,
    STRING,
    DatasetStatistics,
    KllSketch,
    StatisticsError,
    infer_type,
    model_quality_constraints,
    read_csv_with_header,
    suggest_constraints,
)
from tests.unit.pipeline_scripts.conftest import SPEC

COLUMNS = [("amount", FRACTIONAL), ("count", INTEGRAL), ("channel", STRING)]


def rows(seed: int, n: int) -> list[list[Any]]:
    rng = np.random.default_rng(seed)
    return [
        [float(rng.lognormal(3, 1)), int(rng.integers(0, 9)), str(rng.choice(["web", "pos", "atm"]))] for _ in range(n)
    ]


def feature(statistics: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in statistics["features"] if f["name"] == name)


def test_numeric_statistics_are_exact_and_in_the_model_monitor_layout() -> None:
    data = rows(1, 500)
    amounts = np.array([r[0] for r in data])
    stats = DatasetStatistics(COLUMNS)
    stats.add_rows(data)

    result = stats.to_json()
    numeric = feature(result, "amount")["numerical_statistics"]

    assert result["version"] == 0.0
    assert result["dataset"] == {"item_count": 500}
    assert feature(result, "amount")["inferred_type"] == FRACTIONAL
    assert numeric["common"] == {"num_present": 500, "num_missing": 0}
    assert numeric["mean"] == pytest.approx(amounts.mean())
    assert numeric["sum"] == pytest.approx(amounts.sum())
    assert numeric["std_dev"] == pytest.approx(amounts.std())
    assert (numeric["min"], numeric["max"]) == (amounts.min(), amounts.max())
    buckets = numeric["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert buckets[0]["lower_bound"] == amounts.min()
    assert buckets[-1]["upper_bound"] == amounts.max()
    assert [b["count"] for b in buckets] == list(np.histogram(amounts, bins=10)[0].astype(float))
    assert numeric["distribution"]["kll"]["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}


def test_string_statistics_count_values_and_missing() -> None:
    stats = DatasetStatistics([("channel", STRING)])
    stats.add_rows([["web"], ["pos"], ["web"], [""], [None]])

    body = stats.to_json()["features"][0]["string_statistics"]

    assert body["common"] == {"num_present": 3, "num_missing": 2}
    assert body["distinct_count"] == 2.0
    assert body["distribution"]["categorical"]["buckets"] == [
        {"value": "web", "count": 2.0},
        {"value": "pos", "count": 1.0},
    ]


def test_statistics_of_shards_merge_to_the_statistics_of_the_whole() -> None:
    data = rows(2, 900)
    whole = DatasetStatistics(COLUMNS)
    whole.add_rows(data)
    shards = [DatasetStatistics(COLUMNS) for _ in range(3)]
    for i, shard in enumerate(shards):
        shard.add_rows(data[i * 300 : (i + 1) * 300])
    merged = shards[0]
    merged.merge(shards[1])
    merged.merge(shards[2])

    a, b = whole.to_json(), merged.to_json()
    for name in ("amount", "count"):
        x, y = feature(a, name)["numerical_statistics"], feature(b, name)["numerical_statistics"]
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert x[key] == pytest.approx(y[key], rel=1e-12), (name, key)
        assert x["distribution"]["kll"]["buckets"] == y["distribution"]["kll"]["buckets"]
    assert feature(a, "channel") == feature(b, "channel")


def test_kll_sketch_keeps_total_weight_and_approximates_quantiles_beyond_its_capacity() -> None:
    values = np.random.default_rng(3).normal(size=50_000)
    sketch = KllSketch()
    sketch.update(values.tolist())

    items = sorted(sketch.weighted_items())
    weights = np.cumsum([w for _, w in items])
    median = items[int(np.searchsorted(weights, 25_000))][0]

    assert weights[-1] == 50_000
    assert sum(len(level) for level in sketch.levels) < 10_000
    assert median == pytest.approx(np.median(values), abs=0.05)


def test_type_inference() -> None:
    assert infer_type(["1", "2", ""]) == INTEGRAL
    assert infer_type(["1", "2.5"]) == FRACTIONAL
    assert infer_type(["1", "x"]) == STRING


def test_ragged_rows_and_empty_data_are_refused(tmp_path: Path) -> None:
    stats = DatasetStatistics(COLUMNS)
    with pytest.raises(StatisticsError, match="row 1 has 2 values, expected 3"):
        stats.add_row([1.0, 2])
    with pytest.raises(StatisticsError, match="no rows"):
        stats.to_json()
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(StatisticsError, match="has a header but no rows"):
        read_csv_with_header(tmp_path / "empty.csv")


def test_constraints_follow_the_statistics_and_per_feature_drift_thresholds() -> None:
    stats = DatasetStatistics([("delta", FRACTIONAL), ("channel", STRING), ("amount", FRACTIONAL)])
    stats.add_rows([[-1.0, "web", 5.0], [2.0, "pos", 6.0], [3.0, "web", 7.0]])

    constraints = suggest_constraints(stats.to_json(), default_drift_threshold=0.1, drift_thresholds={"amount": 0.15})

    by_name = {f["name"]: f for f in constraints["features"]}
    assert by_name["delta"]["num_constraints"] == {"is_non_negative": False}
    assert by_name["amount"]["num_constraints"] == {"is_non_negative": True}
    assert by_name["channel"]["string_constraints"] == {"domains": ["pos", "web"]}
    assert by_name["channel"]["completeness"] == 1.0
    assert by_name["amount"]["monitoringConfigOverrides"] == {
        "distribution_constraints": {"comparison_threshold": 0.15}
    }
    assert "monitoringConfigOverrides" not in by_name["delta"]
    assert constraints["monitoring_config"]["distribution_constraints"] == {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
    }
    assert constraints["monitoring_config"]["emit_metrics"] == "Enabled"


def test_model_quality_constraints_flag_a_relative_drop() -> None:
    constraints = model_quality_constraints({"f1": {"value": 0.8}, "auc": {"value": 0.9}}, relative_tolerance=0.1)
    assert constraints == {
        "version": 0.0,
        "binary_classification_constraints": {
            "auc": {"threshold": 0.81, "comparison_operator": "LessThanThreshold"},
            "f1": {"threshold": 0.72, "comparison_operator": "LessThanThreshold"},
        },
    }


def test_baseline_step_types_the_encoded_categorical_as_integral(tmp_path: Path, spec_file: Path) -> None:
    names = list(SPEC.feature_names)
    lines = [",".join(names)] + [",".join(str(i % 3 + j) for j in range(len(names))) for i in range(30)]
    (tmp_path / "baseline.csv").write_text("\n".join(lines) + "\n")
    evaluation = {"binary_classification_metrics": {"pr_auc": {"value": 0.5}}, "test_set": {"rows": 10}}
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation))

    status = baseline.main(
        [
            "--spec",
            str(spec_file),
            "--baseline-data",
            str(tmp_path / "baseline.csv"),
            "--evaluation",
            str(tmp_path),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )

    assert status == 0
    statistics = json.loads((tmp_path / "out" / "data-quality" / "statistics.json").read_text())
    assert feature(statistics, "merchant_category")["inferred_type"] == INTEGRAL
    assert [f["name"] for f in statistics["features"]] == names
    quality = json.loads((tmp_path / "out" / "model-quality" / "constraints.json").read_text())
    assert quality["binary_classification_constraints"]["pr_auc"]["threshold"] == 0.45


def test_baseline_step_refuses_columns_out_of_spec_order(
    tmp_path: Path, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = list(reversed(SPEC.feature_names))
    (tmp_path / "baseline.csv").write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")

    status = baseline.main(
        [
            "--spec",
            str(spec_file),
            "--baseline-data",
            str(tmp_path / "baseline.csv"),
            "--evaluation",
            str(tmp_path),
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )

    assert status == 2
    assert "is not the spec's feature order" in capsys.readouterr().err

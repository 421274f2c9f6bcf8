"""CloudWatch metric data: namespace, dimensions, names, undefined metrics left out, batching."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.quality.logic import NAMESPACE, metric_data, put_metric_data
from tests.contract.recorder import contract_double
from tests.unit.quality.conftest import SETTINGS, START, World, at, capture_line, label_line

NOW = datetime(2026, 3, 2, 11, tzinfo=UTC)


@contract_double("cloudwatch")  # the IAM contract tier records put_metric_data for the caller
class RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def dims(entry: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in entry["Dimensions"]}


def test_per_variant_metrics_carry_model_environment_variant_and_version(world: World) -> None:
    world.put_captures(
        "primary", START, [capture_line(f"i{n}", n / 10, time=at(n), amount=10.0 * n) for n in range(10)]
    )
    world.put_labels(START, [label_line(f"i{n}", int(n >= 6)) for n in range(10)])
    report = world.run(version_of=lambda variant: "12")

    data = metric_data(report, timestamp=NOW)

    variant_level = {
        e["MetricName"]: e
        for e in data
        if dims(e) == {"Model": "fraud-detection", "Environment": "dev", "Variant": "primary"}
    }
    version_level = {e["MetricName"] for e in data if dims(e).get("ModelVersion") == "12"}
    expected = {
        "AUC", "PRAUC", "Precision", "Recall", "F1", "Accuracy", "LabelCoverage", "Predictions", "LabelsMatched",
        "LabelsDuplicate", "LabelsConflicting", "LabelsLate", "CapturesDuplicate", "TruePositives", "FalsePositives",
        "TrueNegatives", "FalseNegatives", "fraud_value_caught", "fraud_value_missed", "review_cost",
    }  # fmt: skip
    assert set(variant_level) == expected
    assert version_level == expected
    assert variant_level["AUC"]["Value"] == 1.0
    assert variant_level["fraud_value_missed"]["Value"] == 0.0
    assert variant_level["fraud_value_caught"]["Value"] == pytest.approx(60.0 + 70.0 + 80.0 + 90.0)
    assert variant_level["review_cost"]["Value"] == pytest.approx(2.5)  # i5 scores 0.5 and is not fraud
    assert variant_level["Predictions"]["Unit"] == "Count"
    assert all(e["Timestamp"] == NOW for e in data)


def test_window_totals_are_always_sent_and_undefined_ratios_never(world: World) -> None:
    report = world.run(settings=replace(SETTINGS, expected_variants=("primary",)))

    data = metric_data(report, timestamp=NOW)

    totals = {
        e["MetricName"]: e["Value"] for e in data if dims(e) == {"Model": "fraud-detection", "Environment": "dev"}
    }
    assert totals == {
        "Predictions": 0.0,
        "LabelsMatched": 0.0,
        "LabelsReceived": 0.0,
        "LabelsUnmatched": 0.0,
        "LabelsDuplicate": 0.0,
        "LabelsConflicting": 0.0,
        "LabelsLate": 0.0,
        "CapturesMalformed": 0.0,
        "LabelsMalformed": 0.0,
        "LabelCoverage": 0.0,
    }
    primary = {e["MetricName"]: e["Value"] for e in data if dims(e).get("Variant") == "primary"}
    assert primary["LabelCoverage"] == 0.0
    assert not {"AUC", "PRAUC", "Precision", "Recall", "F1", "Accuracy"} & set(primary)


def test_metric_data_is_sent_in_batches_within_the_request_limit() -> None:
    cloudwatch = RecordingCloudWatch()
    data = [{"MetricName": f"m{n}", "Value": 1.0} for n in range(1201)]

    calls = put_metric_data(cloudwatch, data, batch_size=5000)

    assert calls == 2
    assert [len(c["MetricData"]) for c in cloudwatch.calls] == [1000, 201]
    assert {c["Namespace"] for c in cloudwatch.calls} == {NAMESPACE} == {"MLOps/ModelQuality"}

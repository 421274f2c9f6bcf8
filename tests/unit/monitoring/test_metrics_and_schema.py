"""CloudWatch metrics carry the configured namespace and dimensions; schema checks catch malformed files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor_stats.schema import validate_statistics, validate_violations
from monitoring_job.metrics import MetricPoint, emf_lines, publish, put_metric_data_batches
from tests.contract.recorder import contract_double

WHEN = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BASE = (("Model", "fraud-detection"), ("Environment", "prod"))
POINTS = [
    MetricPoint("RecordCount", 100.0, "Count", BASE),
    MetricPoint("FeatureDrift", 0.2, "None", (*BASE, ("Feature", "amount"))),
    MetricPoint("FeatureDriftDetected", 1.0, "Count", (*BASE, ("Feature", "amount"))),
]


@contract_double("cloudwatch")  # the IAM contract tier records put_metric_data for the caller
class FakeCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


def test_emf_lines_group_metrics_by_dimension_set() -> None:
    documents = [json.loads(line) for line in emf_lines(POINTS, "MLOps/DataQuality", WHEN)]

    assert len(documents) == 2
    feature = documents[1]
    [directive] = feature["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MLOps/DataQuality"
    assert directive["Dimensions"] == [["Model", "Environment", "Feature"]]
    assert [m["Name"] for m in directive["Metrics"]] == ["FeatureDrift", "FeatureDriftDetected"]
    assert (feature["Model"], feature["Environment"], feature["Feature"]) == ("fraud-detection", "prod", "amount")
    assert feature["FeatureDrift"] == 0.2
    assert feature["_aws"]["Timestamp"] == int(WHEN.timestamp() * 1000)


def test_put_metric_data_batches_respect_the_request_limit_and_are_sent_through_the_client() -> None:
    points = POINTS * 700
    batches = put_metric_data_batches(points, "MLOps/DataQuality", WHEN)
    client = FakeCloudWatch()

    sent = publish(batches, client)

    assert [len(b["MetricData"]) for b in batches] == [1000, 1000, 100]
    assert sent == 2100
    assert len(client.calls) == 3
    datum = client.calls[0]["MetricData"][1]
    assert client.calls[0]["Namespace"] == "MLOps/DataQuality"
    assert datum["Dimensions"] == [
        {"Name": "Model", "Value": "fraud-detection"},
        {"Name": "Environment", "Value": "prod"},
        {"Name": "Feature", "Value": "amount"},
    ]
    assert (datum["MetricName"], datum["Value"], datum["Unit"], datum["Timestamp"]) == (
        "FeatureDrift",
        0.2,
        "None",
        WHEN,
    )


@pytest.mark.parametrize(
    "document",
    [
        {"violations": [{"feature_name": "a", "constraint_check_type": "drift_check", "description": "x"}]},
        {"violations": [{"feature_name": "a", "constraint_check_type": "completeness_check"}]},
        {"violation": []},
    ],
)
def test_malformed_violation_files_are_caught(document: dict[str, Any]) -> None:
    assert validate_violations(document) != []


def test_malformed_statistics_are_caught() -> None:
    bucket = {"lower_bound": 2.0, "upper_bound": 1.0, "count": -1}
    stats = {
        "common": {"num_present": 1, "num_missing": 0},
        "mean": 1,
        "sum": 1,
        "std_dev": 0,
        "min": 1,
        "max": "1",
        "distribution": {"kll": {"buckets": [bucket]}},
    }
    document = {
        "version": 0,
        "dataset": {"item_count": 1},
        "features": [{"name": "a", "inferred_type": "Fractional", "numerical_statistics": stats}],
    }

    problems = validate_statistics(document)

    assert any("max" in p for p in problems)
    assert any("upper_bound below lower_bound" in p for p in problems)
    assert any("count" in p for p in problems)

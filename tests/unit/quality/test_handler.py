"""The scheduled handler end to end through moto: window from the event time, report in S3, CloudWatch metrics."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType, SimpleNamespace

import pytest
from moto import mock_aws

from config.models.fraud_detection import FRAUD_DETECTION
from lambdas.quality.settings import QualityConfigError, business_metrics_from_spec
from lambdas.shared.aws import LazyClient
from tests.unit.quality.conftest import (
    CAPTURE_BUCKET,
    CAPTURE_PREFIX,
    ENDPOINT,
    REPORTS_BUCKET,
    START,
    TRUTH_BUCKET,
    TRUTH_PREFIX,
    World,
    at,
    capture_line,
    label_line,
)

CONTEXT = SimpleNamespace(
    function_name="quality",
    memory_limit_in_mb=512,
    aws_request_id="req-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:111111111111:function:quality",
)
# The hourly schedule fires 24 h (the label lag) after the window [10:00, 11:00) closed.
EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "111111111111",
    "time": "2026-03-02T11:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:111111111111:rule/quality-hourly"],
    "detail": {},
}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, World]]:
    monkeypatch.setenv("MODEL_NAME", "fraud-detection")
    monkeypatch.setenv("ENVIRONMENT", "dev")
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("DATA_CAPTURE_S3_URI", f"s3://{CAPTURE_BUCKET}/{CAPTURE_PREFIX}")
    monkeypatch.setenv("GROUND_TRUTH_S3_URI", f"s3://{TRUTH_BUCKET}/{TRUTH_PREFIX}")
    monkeypatch.setenv("REPORTS_BUCKET", REPORTS_BUCKET)
    monkeypatch.setenv("DECISION_THRESHOLD", "0.5")
    monkeypatch.setenv("LABEL_LAG_HOURS", "24")
    monkeypatch.setenv("WINDOW_HOURS", "1")
    monkeypatch.setenv("BUSINESS_METRICS", business_metrics_from_spec(FRAUD_DETECTION))
    monkeypatch.setenv("EXPECTED_VARIANTS", '["primary"]')
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "quality-test")
    with mock_aws():
        world = World()
        import lambdas.quality.handler as module  # noqa: PLC0415 - a fresh settings cache per test

        yield importlib.reload(module), world


def published(world: World) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every datapoint in the namespace, by (metric name, dimensions)."""
    values = {}
    for metric in world.cloudwatch.list_metrics(Namespace="MLOps/ModelQuality")["Metrics"]:
        stats = world.cloudwatch.get_metric_statistics(
            Namespace="MLOps/ModelQuality",
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=datetime(2026, 3, 2, 10, tzinfo=UTC),
            EndTime=datetime(2026, 3, 2, 12, tzinfo=UTC),
            Period=3600,
            Statistics=["Maximum"],
        )["Datapoints"]
        assert len(stats) == 1, metric
        dimensions = frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
        values[(metric["MetricName"], dimensions)] = stats[0]["Maximum"]
    return values


def test_a_scheduled_run_evaluates_the_window_ending_one_lag_before_the_event(
    handler: tuple[ModuleType, World],
) -> None:
    module, world = handler
    world.put_captures("primary", START, [capture_line(f"i{n}", n / 10, time=at(n)) for n in range(10)])
    world.put_captures(
        "primary", START - timedelta(hours=3), [capture_line("older", 0.9, time=at(1, START - timedelta(hours=3)))]
    )
    world.put_labels(START + timedelta(hours=20), [label_line(f"i{n}", int(n >= 5)) for n in range(8)])

    result = module.handler(EVENT, CONTEXT)

    assert (result["window_start"], result["window_end"]) == ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")
    assert (result["predictions"], result["labelled"], result["label_coverage"]) == (10, 8, 0.8)
    report = json.loads(world.read(REPORTS_BUCKET, "quality/fraud-detection/2026/03/01/10/report.json"))
    assert report["variants"]["primary"]["auc"] == 1.0
    assert result["report_uri"] == f"s3://{REPORTS_BUCKET}/quality/fraud-detection/2026/03/01/10/report.json"


def test_metrics_land_in_the_quality_namespace_with_model_environment_variant_dimensions(
    handler: tuple[ModuleType, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, world = handler
    monkeypatch.setattr(module, "version_lookup", lambda variant: {"primary": "3"}[variant])
    world.put_captures("primary", START, [capture_line(f"i{n}", n / 10, time=at(n), amount=100.0) for n in range(10)])
    world.put_labels(START, [label_line(f"i{n}", int(n in (2, 7))) for n in range(10)] + [label_line("stray", 1)])

    module.handler(EVENT, CONTEXT)

    values = published(world)
    model = {("Model", "fraud-detection"), ("Environment", "dev")}
    variant = frozenset(model | {("Variant", "primary")})
    version = frozenset(variant | {("ModelVersion", "3")})
    assert values[("AUC", variant)] == values[("AUC", version)] == 0.5  # i2 beats 2 of 8 negatives, i7 beats 6
    assert values[("LabelCoverage", variant)] == 1.0
    assert values[("fraud_value_missed", variant)] == 100.0  # i2 scored 0.2
    assert values[("review_cost", variant)] == 2.5 * 4  # i5, i6, i8, i9
    assert values[("LabelsUnmatched", frozenset(model))] == 1.0
    assert values[("Predictions", frozenset(model))] == 10.0
    assert {name for name, _ in values} >= {"AUC", "PRAUC", "Precision", "Recall", "F1", "LabelCoverage",
                                            "LabelsUnmatched", "LabelsDuplicate", "fraud_value_caught"}  # fmt: skip


def test_no_captures_and_no_labels_publish_zero_coverage_instead_of_failing(handler: tuple[ModuleType, World]) -> None:
    module, world = handler

    result = module.handler(EVENT, CONTEXT)

    assert (result["predictions"], result["label_coverage"]) == (0, 0.0)
    values = published(world)
    model = {("Model", "fraud-detection"), ("Environment", "dev")}
    assert values[("LabelCoverage", frozenset(model | {("Variant", "primary")}))] == 0.0
    assert values[("LabelCoverage", frozenset(model))] == 0.0
    assert not any(name == "AUC" for name, _ in values)


def test_a_backfill_event_names_the_window_end(handler: tuple[ModuleType, World]) -> None:
    module, _ = handler

    result = module.handler({**EVENT, "detail": {"window_end": "2026-02-20T08:30:00Z"}}, CONTEXT)

    assert (result["window_start"], result["window_end"]) == ("2026-02-20T07:00:00Z", "2026-02-20T08:00:00Z")


@pytest.mark.parametrize("event", [{}, {"time": "yesterday"}, {**EVENT, "detail": {"window_end": 5}}])
def test_an_event_without_a_usable_time_is_rejected(
    handler: tuple[ModuleType, World], event: dict[str, object]
) -> None:
    module, _ = handler
    with pytest.raises(module.MalformedScheduleEvent):
        module.handler(event, CONTEXT)


def test_clients_are_created_lazily(handler: tuple[ModuleType, World]) -> None:
    module, _ = handler
    assert isinstance(module._S3, LazyClient)
    assert isinstance(module._CLOUDWATCH, LazyClient)
    assert module._S3._client is None


def test_the_environment_is_validated_on_the_first_invocation(
    handler: tuple[ModuleType, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handler
    monkeypatch.delenv("REPORTS_BUCKET")
    module = importlib.reload(module)  # importing never fails: Lambda init stays cheap and benchmarks can load it

    with pytest.raises(QualityConfigError, match="REPORTS_BUCKET"):
        module.handler(EVENT, CONTEXT)

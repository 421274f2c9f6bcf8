"""Settings: validated once from the environment; business metrics built from the spec."""

from __future__ import annotations

import json

import pytest

from config.models.fraud_detection import FRAUD_DETECTION
from lambdas.quality.settings import (
    BusinessMetricConfig,
    BusinessMetricKind,
    QualityConfigError,
    QualitySettings,
    S3Location,
    business_metrics_from_spec,
    parse_business_metrics,
)

ENV = {
    "MODEL_NAME": "fraud-detection",
    "ENVIRONMENT": "dev",
    "ENDPOINT_NAME": "fraud-detection-dev",
    "DATA_CAPTURE_S3_URI": "s3://capture/fraud-detection/data-capture/",
    "GROUND_TRUTH_S3_URI": "s3://truth/fraud-detection/ground-truth",
    "REPORTS_BUCKET": "reports",
}


def test_fraud_spec_business_metrics_take_amount_from_column_zero() -> None:
    metrics = parse_business_metrics(business_metrics_from_spec(FRAUD_DETECTION))

    assert FRAUD_DETECTION.feature_names[0] == "amount"
    assert metrics == (
        BusinessMetricConfig(
            name="fraud_value_caught", kind=BusinessMetricKind.VALUE_CAUGHT, value_column_index=0, unit="USD"
        ),
        BusinessMetricConfig(
            name="fraud_value_missed", kind=BusinessMetricKind.VALUE_MISSED, value_column_index=0, unit="USD"
        ),
        BusinessMetricConfig(name="review_cost", kind=BusinessMetricKind.REVIEW_COST, unit_cost=2.5, unit="USD"),
    )


def test_defaults_apply_when_only_the_required_variables_are_set() -> None:
    settings = QualitySettings.from_env(ENV)

    assert settings.data_capture == S3Location("capture", "fraud-detection/data-capture")
    assert settings.ground_truth == S3Location("truth", "fraud-detection/ground-truth")
    assert (settings.decision_threshold, settings.label_lag_hours, settings.window_hours) == (0.5, 24, 1)
    assert (settings.business_metrics, settings.expected_variants) == ((), ())
    assert settings.quarantine_prefix == "quality-quarantine"


def test_every_variable_is_read() -> None:
    settings = QualitySettings.from_env(
        {
            **ENV,
            "DECISION_THRESHOLD": "0.35",
            "LABEL_LAG_HOURS": "48",
            "WINDOW_HOURS": "6",
            "BUSINESS_METRICS": business_metrics_from_spec(FRAUD_DETECTION),
            "EXPECTED_VARIANTS": '["primary"]',
            "QUARANTINE_PREFIX": "/q/",
        }
    )

    assert (settings.decision_threshold, settings.label_lag_hours, settings.window_hours) == (0.35, 48, 6)
    assert len(settings.business_metrics) == 3
    assert (settings.expected_variants, settings.quarantine_prefix) == (("primary",), "q")


def test_missing_variables_are_named() -> None:
    with pytest.raises(QualityConfigError, match="ENDPOINT_NAME, DATA_CAPTURE_S3_URI"):
        QualitySettings.from_env({k: v for k, v in ENV.items() if k not in ("ENDPOINT_NAME", "DATA_CAPTURE_S3_URI")})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DECISION_THRESHOLD", "1.5", "DECISION_THRESHOLD must be in"),
        ("DECISION_THRESHOLD", "high", "DECISION_THRESHOLD must be a number"),
        ("LABEL_LAG_HOURS", "-1", "LABEL_LAG_HOURS must be in"),
        ("WINDOW_HOURS", "0", "WINDOW_HOURS must be in"),
        ("GROUND_TRUTH_S3_URI", "truth/prefix", "GROUND_TRUTH_S3_URI must be an s3:// URI"),
        ("BUSINESS_METRICS", "{", "BUSINESS_METRICS is not JSON"),
        ("EXPECTED_VARIANTS", '"primary"', "EXPECTED_VARIANTS must be a JSON list"),
    ],
)
def test_invalid_values_are_rejected_naming_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(QualityConfigError, match=message):
        QualitySettings.from_env({**ENV, variable: value})


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ({"name": "x", "kind": "value_missed"}, r"value_column_index is required"),
        ({"name": "x", "kind": "review_cost"}, r"unit_cost is required"),
        ({"name": "x", "kind": "profit"}, r"kind must be one of"),
        ({"name": "x", "kind": "review_cost", "unit_cost": -1}, r"unit_cost must be a non-negative number"),
        ({"name": "x", "kind": "value_caught", "value_column_index": True}, r"value_column_index must be"),
        ({"name": "x", "kind": "value_caught", "value_column_index": 0, "column": 1}, r"unknown keys \['column'\]"),
    ],
)
def test_invalid_business_metrics_are_rejected(metric: dict[str, object], message: str) -> None:
    with pytest.raises(QualityConfigError, match=message):
        parse_business_metrics(json.dumps([metric]))


def test_duplicate_business_metric_names_are_rejected() -> None:
    metric = {"name": "x", "kind": "review_cost", "unit_cost": 1}
    with pytest.raises(QualityConfigError, match="duplicate"):
        parse_business_metrics(json.dumps([metric, metric]))

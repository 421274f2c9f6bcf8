"""The job config: what the CDK writes from the spec, and clear errors for what the job cannot use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from config.models.fraud_detection import FRAUD_DETECTION
from monitor_stats.columns import FeatureKind
from monitoring_job.config import AlertingConfig, job_config_from_spec, load_job_config, parse_job_config
from monitoring_job.errors import JobConfigError


def _valid() -> dict[str, Any]:
    return {
        "model_name": "m",
        "endpoint_name": "m-dev",
        "environment": "dev",
        "features": [{"name": "a", "type": "Fractional", "drift_threshold": 0.2}, {"name": "b", "type": "String"}],
        "prediction": {"name": "prediction", "type": "Fractional"},
        "metrics": {"namespace": "MLOps/DataQuality", "dimensions": {"Model": "m", "Environment": "dev"}},
    }


def test_spec_becomes_a_job_config_with_the_specs_order_types_and_thresholds() -> None:
    raw = job_config_from_spec(FRAUD_DETECTION, endpoint_name="fraud-detection-dev", environment="dev")
    config = parse_job_config(raw)

    assert config.feature_names == FRAUD_DETECTION.feature_names
    assert config.features[1].kind is FeatureKind.STRING
    thresholds = {f.name: f.drift_threshold for f in config.features}
    assert thresholds == {name: FRAUD_DETECTION.drift_threshold_of(name) for name in FRAUD_DETECTION.feature_names}
    assert thresholds["amount_to_avg_30d"] == 0.15
    assert config.metrics.dimensions == (("Model", "fraud-detection"), ("Environment", "dev"))
    assert config.prediction is not None
    assert config.prediction.name == "prediction"
    assert config.features[1].categories == FRAUD_DETECTION.category_vocabularies["merchant_category"]
    assert all(not f.categories for f in config.features if f.name != "merchant_category")
    assert config.alerting is None


def test_the_alerting_section_names_the_alarms_the_report_points_to() -> None:
    raw = job_config_from_spec(
        FRAUD_DETECTION,
        endpoint_name="fraud-detection-dev",
        environment="dev",
        alerting=AlertingConfig(alarm_prefix="fraud-detection-dev", retrain_on_alarms=True),
    )

    alerting = parse_job_config(raw).alerting

    assert alerting is not None
    assert alerting.retrain_on_alarms is True
    assert alerting.drift_alarm == "fraud-detection-dev-drift"
    assert alerting.feature_alarm("amount_to_avg_30d") == "fraud-detection-dev-drift-amount-to-avg-30d"


def test_categories_decode_captured_codes_and_belong_to_string_features_only() -> None:
    config = parse_job_config({**_valid(), "features": [{"name": "b", "type": "String", "categories": ["web", "pos"]}]})

    assert [config.features[0].decode(text) for text in ("1", "0", "1.0", "-1", "7", "atm")] == [
        "pos",
        "web",
        "pos",
        "(not in vocabulary)",
        "7",
        "atm",
    ]


def test_defaults_apply_when_optional_fields_are_absent() -> None:
    config = parse_job_config(_valid())

    assert config.features[1].drift_threshold == 0.1
    assert config.metrics.publish is False
    assert config.significance_level == 0.001


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"features": []}, "features"),
        ({"features": [{"name": "a", "type": "Float"}]}, "features[0].type"),
        ({"features": [{"name": "a b", "type": "String"}]}, "features[0].name"),
        ({"features": [{"name": "a", "type": "String", "drift_threshold": 2}]}, "drift_threshold"),
        ({"prediction": {"name": "a", "type": "Fractional"}}, "duplicate"),
        ({"prediction": {"name": "p", "type": "String"}}, "prediction.type"),
        ({"metrics": {"dimensions": {"Feature": "x"}}}, "metrics.dimensions"),
        ({"metrics": {"namespace": "AWS/SageMaker"}}, "metrics.namespace"),
        ({"model_name": ""}, "model_name"),
        ({"schema_version": 2}, "schema_version"),
        ({"features": [{"name": "a", "type": "Fractional", "categories": ["x"]}]}, "features[0].categories"),
        ({"features": [{"name": "a", "type": "String", "categories": ["x", "x"]}]}, "features[0].categories"),
        ({"features": [{"name": "a", "type": "String", "categories": "x"}]}, "features[0].categories"),
        ({"alerting": {"retrain_on_alarms": True}}, "alerting.alarm_prefix"),
        ({"alerting": {"alarm_prefix": "p", "retrain_on_alarms": "yes"}}, "alerting.retrain_on_alarms"),
    ],
)
def test_an_invalid_field_is_named_in_the_error(change: dict[str, Any], named: str) -> None:
    with pytest.raises(JobConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_job_config({**_valid(), **change})


def test_unreadable_or_non_json_config_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(JobConfigError, match=r"nope\.json.*cannot be read"):
        load_job_config(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(JobConfigError, match=r"broken\.json.*not valid JSON"):
        load_job_config(broken)


def test_a_config_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "job_config.json"
    path.write_text(json.dumps(_valid()), encoding="utf-8")

    assert load_job_config(path) == parse_job_config(_valid())

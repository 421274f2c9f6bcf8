"""Environment validation: every missing or invalid variable is a MonitoringConfigError naming it."""

from __future__ import annotations

import pytest

from lambdas.monitoring.settings import MonitoringConfigError, S3Location, WindowSettings
from tests.unit.monitoring_window.conftest import ENV, SETTINGS


def test_a_complete_environment_gives_the_settings_with_the_default_namespace() -> None:
    assert WindowSettings.from_env(ENV) == SETTINGS
    assert SETTINGS.metrics_namespace == "MLOps/DataQuality"


def test_values_are_normalised() -> None:
    settings = WindowSettings.from_env(
        {
            **ENV,
            "DATA_CAPTURE_S3_URI": " s3://capture/fraud-detection/data-capture/ ",
            "REPORTS_PREFIX": "/monitoring/fraud-detection/",
            "WINDOW_HOURS": " 24 ",
            "METRICS_NAMESPACE": "MLOps/Drift",
        }
    )
    assert settings.data_capture == S3Location("capture", "fraud-detection/data-capture")
    assert settings.reports == S3Location("reports", "monitoring/fraud-detection")
    assert (settings.window_hours, settings.metrics_namespace) == (24, "MLOps/Drift")


def test_a_capture_uri_without_prefix_is_the_bucket_root() -> None:
    settings = WindowSettings.from_env({**ENV, "DATA_CAPTURE_S3_URI": "s3://capture"})
    assert settings.data_capture == S3Location("capture", "")
    assert settings.data_capture.key("ep") == "ep"


@pytest.mark.parametrize("name", WindowSettings.REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_each_missing_required_variable_is_named(name: str, value: str | None) -> None:
    environ = {k: v for k, v in ENV.items() if k != name}
    if value is not None:
        environ[name] = value
    with pytest.raises(MonitoringConfigError, match=name) as caught:
        WindowSettings.from_env(environ)
    assert caught.value.variables == (name,)


def test_all_missing_variables_are_named_at_once() -> None:
    with pytest.raises(MonitoringConfigError) as caught:
        WindowSettings.from_env({})
    assert caught.value.variables == WindowSettings.REQUIRED
    assert str(caught.value) == f"missing environment variables: {', '.join(WindowSettings.REQUIRED)}"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WINDOW_HOURS", "0", r"WINDOW_HOURS must be in \[1, 24\], got 0"),
        ("WINDOW_HOURS", "25", r"WINDOW_HOURS must be in \[1, 24\], got 25"),
        ("WINDOW_HOURS", "1.5", "WINDOW_HOURS must be an integer, got '1.5'"),
        ("WINDOW_HOURS", "one", "WINDOW_HOURS must be an integer"),
        ("DATA_CAPTURE_S3_URI", "capture/fraud-detection", "DATA_CAPTURE_S3_URI must be an s3:// URI"),
        ("DATA_CAPTURE_S3_URI", "s3:///data-capture", "DATA_CAPTURE_S3_URI has no valid bucket name"),
        ("REPORTS_BUCKET", "s3://reports", "REPORTS_BUCKET must be a bucket name"),
        ("REPORTS_BUCKET", "reports/monitoring", "REPORTS_BUCKET must be a bucket name"),
        ("REPORTS_PREFIX", "///", "REPORTS_PREFIX must be a non-empty key prefix"),
        ("ENDPOINT_NAME", "fraud/dev", "ENDPOINT_NAME is not a SageMaker endpoint name"),
        ("ENDPOINT_NAME", "-fraud", "ENDPOINT_NAME is not a SageMaker endpoint name"),
        ("METRICS_NAMESPACE", "AWS/SageMaker", "METRICS_NAMESPACE is not a usable CloudWatch namespace"),
        ("METRICS_NAMESPACE", "MLOps/Data$Quality", "METRICS_NAMESPACE is not a usable CloudWatch namespace"),
        ("METRICS_NAMESPACE", "x" * 256, "METRICS_NAMESPACE is not a usable CloudWatch namespace"),
    ],
)
def test_invalid_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(MonitoringConfigError, match=message) as caught:
        WindowSettings.from_env({**ENV, name: value})
    assert caught.value.variables == (name,)


def test_the_error_is_a_value_error() -> None:
    assert issubclass(MonitoringConfigError, ValueError)

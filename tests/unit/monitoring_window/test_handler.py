"""The handler end to end through moto: settings from the environment, window from the event, manifest, metric."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from moto import mock_aws

from lambdas.monitoring.capture_window import CaptureWindow, MalformedScheduleEvent
from lambdas.monitoring.settings import MonitoringConfigError
from lambdas.shared.aws import LazyClient
from tests.unit.monitoring_window.conftest import (
    CAPTURE_BUCKET,
    CAPTURE_PREFIX,
    ENDPOINT,
    ENV,
    REPORTS_BUCKET,
    REPORTS_PREFIX,
    START,
    WINDOW,
    World,
)

CONTEXT = SimpleNamespace(
    function_name="monitoring-window",
    memory_limit_in_mb=256,
    aws_request_id="req-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:111111111111:function:monitoring-window",
)
EVENT = {"time": "2026-03-02T12:10:00Z"}


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, World]]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "monitoring-window-test")
    with mock_aws():
        world = World()
        import lambdas.monitoring.window as module  # noqa: PLC0415 - fresh settings cache and clients per test

        yield importlib.reload(module), world


def test_a_scheduled_run_lists_the_hour_before_the_event(handler: tuple[ModuleType, World]) -> None:
    module, world = handler
    keys = [world.put_capture("AllTraffic", START, "a.jsonl"), world.put_capture("Shadow", START, "b.jsonl")]
    world.put_capture("AllTraffic", START.replace(hour=12), "next-hour.jsonl")

    result = module.handler(EVENT, CONTEXT)

    prefix = f"s3://{REPORTS_BUCKET}/{REPORTS_PREFIX}/2026/03/02/11"
    assert result == {
        "window_id": "20260302T11",
        "window_start": "2026-03-02T11:00:00Z",
        "window_end": "2026-03-02T12:00:00Z",
        "manifest_uri": f"{prefix}/manifest.json",
        "object_count": 2,
        "variants": ["AllTraffic", "Shadow"],
        "output_prefix": prefix,
        "job_name_suffix": result["job_name_suffix"],
    }
    assert json.loads(json.dumps(result)) == result  # a Step Functions payload
    suffix = result["job_name_suffix"]
    assert suffix.startswith("20260302T11-")
    assert len(suffix) <= 20
    assert world.manifest() == [{"prefix": f"s3://{CAPTURE_BUCKET}/{CAPTURE_PREFIX}/{ENDPOINT}/"}, *keys]
    assert world.capture_objects(WINDOW.end) == {"SampleCount": 1.0, "Minimum": 2.0, "Maximum": 2.0}


def test_the_same_event_gives_the_same_result(handler: tuple[ModuleType, World]) -> None:
    module, world = handler
    world.put_capture("AllTraffic", START)
    first = module.handler(EVENT, CONTEXT)
    assert module.handler(dict(EVENT), CONTEXT) == first
    # A retry a few minutes later (same schedule hour) picks the same window and names.
    assert module.handler({"time": "2026-03-02T12:40:00Z"}, CONTEXT) == first


def test_a_backfill_lists_the_window_ending_at_window_end(handler: tuple[ModuleType, World]) -> None:
    module, world = handler
    backfill_hour = START.replace(day=1, hour=7)
    key = world.put_capture("AllTraffic", backfill_hour)
    world.put_capture("AllTraffic", START)  # the scheduled window's object is not part of the backfill

    result = module.handler({**EVENT, "window_end": "2026-03-01T08:00:00Z"}, CONTEXT)

    assert (result["window_id"], result["window_start"], result["window_end"]) == (
        "20260301T07",
        "2026-03-01T07:00:00Z",
        "2026-03-01T08:00:00Z",
    )
    assert result["manifest_uri"] == f"s3://{REPORTS_BUCKET}/{REPORTS_PREFIX}/2026/03/01/07/manifest.json"
    assert world.manifest(CaptureWindow(backfill_hour, START.replace(day=1, hour=8)))[1:] == [key]
    assert result["job_name_suffix"] != module.handler(EVENT, CONTEXT)["job_name_suffix"]


def test_an_empty_window_returns_a_null_manifest_and_publishes_zero(handler: tuple[ModuleType, World]) -> None:
    module, world = handler
    result = module.handler(EVENT, CONTEXT)
    assert (result["object_count"], result["manifest_uri"], result["variants"]) == (0, None, [])
    assert world.capture_objects(WINDOW.end) == {"SampleCount": 1.0, "Minimum": 0.0, "Maximum": 0.0}


def test_window_hours_and_namespace_come_from_the_environment(
    handler: tuple[ModuleType, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, world = handler
    monkeypatch.setenv("WINDOW_HOURS", "3")
    monkeypatch.setenv("METRICS_NAMESPACE", "MLOps/Drift")
    module.settings.cache_clear()
    world.put_capture("AllTraffic", START.replace(hour=9))

    result = module.handler(EVENT, CONTEXT)

    assert (result["window_start"], result["object_count"]) == ("2026-03-02T09:00:00Z", 1)
    assert world.cloudwatch.list_metrics(Namespace="MLOps/Drift")["Metrics"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "time must be an ISO-8601 timestamp string"),
        ({"time": "not a time"}, "time is not an ISO-8601 timestamp: 'not a time'"),
        ({"time": "2026-03-02T12:10:00Z", "window_end": 7}, "window_end must be an ISO-8601 timestamp string"),
    ],
)
def test_a_malformed_event_is_a_typed_error_and_touches_nothing(
    handler: tuple[ModuleType, World], event: dict[str, object], message: str
) -> None:
    module, world = handler
    with pytest.raises(MalformedScheduleEvent, match=message):
        module.handler(event, CONTEXT)
    assert module.MalformedScheduleEvent is MalformedScheduleEvent
    assert module._S3._client is None
    assert module._CLOUDWATCH._client is None
    assert world.cloudwatch.list_metrics(Namespace="MLOps/DataQuality")["Metrics"] == []


def test_a_missing_variable_is_a_typed_error_naming_it(
    handler: tuple[ModuleType, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handler
    monkeypatch.delenv("REPORTS_PREFIX")
    with pytest.raises(MonitoringConfigError, match="missing environment variables: REPORTS_PREFIX") as caught:
        module.handler(EVENT, CONTEXT)
    assert caught.value.variables == ("REPORTS_PREFIX",)
    assert module._S3._client is None
    assert module._CLOUDWATCH._client is None


def test_an_invalid_variable_is_a_typed_error_naming_it(
    handler: tuple[ModuleType, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = handler
    monkeypatch.setenv("WINDOW_HOURS", "48")
    with pytest.raises(MonitoringConfigError, match=r"WINDOW_HOURS must be in \[1, 24\], got 48"):
        module.handler(EVENT, CONTEXT)


def test_importing_the_handler_creates_no_client_and_reads_no_setting(handler: tuple[ModuleType, World]) -> None:
    module, _ = handler  # reloaded: the module state is that of a fresh import
    for client in (module._S3, module._CLOUDWATCH):
        assert isinstance(client, LazyClient)
        assert client._client is None
    assert module.settings.cache_info().currsize == 0


def test_the_module_imports_without_any_environment() -> None:
    # A separate interpreter with an empty environment: importing must not validate settings or create clients.
    code = (
        "import lambdas.monitoring.window as w; "
        "assert w._S3._client is None and w._CLOUDWATCH._client is None; "
        "assert w.settings.cache_info().currsize == 0"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(Path(__file__).resolve().parents[3]),
        env={"PATH": "", "AWS_EC2_METADATA_DISABLED": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

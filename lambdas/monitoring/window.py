"""Drift-monitoring step 1: list a window's data capture into a Processing-job manifest.

A thin handler over ``lambdas.monitoring.capture_window``. The state machine, started by an hourly EventBridge
schedule, passes the schedule time through; a backfill adds ``window_end``::

    {"time": "2026-03-02T12:10:00Z"}                                         -> [11:00, 12:00) with 1 h windows
    {"time": "2026-03-02T12:10:00Z", "window_end": "2026-02-20T08:00:00Z"}  -> [2026-02-20T07:00Z, 08:00Z)

(``window_end`` may instead sit in ``detail``, as in an EventBridge event; a backfill's window must have closed by
``time``). Malformed events raise ``MalformedScheduleEvent``, a bad environment ``MonitoringConfigError``.

and gets back::

    {"window_id": "20260302T11", "window_start": "2026-03-02T11:00:00Z", "window_end": "2026-03-02T12:00:00Z",
     "manifest_uri": "s3://<REPORTS_BUCKET>/<REPORTS_PREFIX>/2026/03/02/11/manifest.json" | null,
     "object_count": 42, "variants": ["AllTraffic"],
     "output_prefix": "s3://<REPORTS_BUCKET>/<REPORTS_PREFIX>/2026/03/02/11", "job_name_suffix": "20260302T11-1a2b3c4d"}

Settings are read from the environment and validated once, on the first invocation (``settings()``), so
importing the module never fails; clients are created on first use.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from lambdas.monitoring.capture_window import MalformedScheduleEvent, prepare_window, window_request
from lambdas.monitoring.settings import MonitoringConfigError, WindowSettings
from lambdas.shared.aws import LazyClient
from lambdas.shared.observability import logger

__all__ = ["MalformedScheduleEvent", "MonitoringConfigError", "handler", "settings"]

_S3 = LazyClient("s3")
_CLOUDWATCH = LazyClient("cloudwatch")


@cache
def settings() -> WindowSettings:
    return WindowSettings.from_env(os.environ)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    request = window_request(event, window_hours=config.window_hours)
    prepared = prepare_window(s3=_S3, cloudwatch=_CLOUDWATCH, settings=config, window=request.window, now=request.time)
    result = prepared.to_dict()
    logger.info(
        "capture window listed",
        extra={**result, "backfill": request.backfill, "metric_published": prepared.metric_published},
    )
    return result

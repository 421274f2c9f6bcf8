"""Scheduled retroactive evaluation: a thin handler over ``lambdas.quality.logic``.

Invoked by an EventBridge schedule (``cron(0 * ? * * *)`` for hourly windows). The event's ``time`` picks
the window: it ENDS ``LABEL_LAG_HOURS`` before that time (floored to the hour) and lasts ``WINDOW_HOURS``, so
its labels had the whole lag to arrive::

    {"version": "0", "id": "...", "detail-type": "Scheduled Event", "source": "aws.events",
     "time": "2026-03-02T12:00:00Z", "region": "...", "resources": ["<rule arn>"], "detail": {}}

A backfill invokes it with ``"detail": {"window_end": "2026-02-20T08:00:00Z"}`` to evaluate the window ending
then; the event time is still the metrics' timestamp. Schedule it every ``WINDOW_HOURS`` hours so consecutive
windows tile time (each malformed line is then counted by exactly one run).

Settings are read from the environment and validated once, on the first invocation (``settings()``), so
importing the module never fails; clients are created on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lambdas.quality.logic import EvaluationWindow, QualityReport, evaluate_and_publish, iso_utc, same_as_variant
from lambdas.quality.settings import QualitySettings
from lambdas.shared.aws import LazyClient
from lambdas.shared.observability import logger

_S3 = LazyClient("s3")
_CLOUDWATCH = LazyClient("cloudwatch")
# Maps a capture variant name to the model package version it served. Injected by the deployment (or a test);
# by default the variant name stands for the version.
version_lookup: Callable[[str], str] = same_as_variant


@cache
def settings() -> QualitySettings:
    return QualitySettings.from_env(os.environ)


class MalformedScheduleEvent(ValueError):  # noqa: N818 - named by what it is; callers catch it by name
    """The event has no usable ``time`` (or ``detail.window_end``); the message names the field."""


def _timestamp(value: object, field: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise MalformedScheduleEvent(f"{field} must be an ISO-8601 timestamp, e.g. 2026-03-02T12:00:00Z")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MalformedScheduleEvent(f"{field} is not an ISO-8601 timestamp: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_for(event: Mapping[str, Any], settings: QualitySettings) -> tuple[EvaluationWindow, datetime]:
    """``(window, event time)`` of a schedule event."""
    if not isinstance(event, Mapping):
        raise MalformedScheduleEvent("the event must be an EventBridge scheduled event object")
    now = _timestamp(event.get("time"), "time")
    detail = event.get("detail")
    lag, length = settings.label_lag_hours, settings.window_hours
    if isinstance(detail, Mapping) and detail.get("window_end") is not None:
        end = _timestamp(detail["window_end"], "detail.window_end")
        return EvaluationWindow.ending_at(end, lag_hours=lag, window_hours=length), now
    return EvaluationWindow.ending_before(now, lag_hours=lag, window_hours=length), now


def summary(report: QualityReport) -> dict[str, Any]:
    return {
        "report_uri": report.report_uri,
        "window_start": iso_utc(report.window.start),
        "window_end": iso_utc(report.window.end),
        "predictions": report.predictions,
        "labelled": report.labelled,
        "label_coverage": report.coverage,
        "labels_unmatched": report.labels.unmatched,
        "labels_duplicate": report.labels.duplicate,
        "malformed": report.malformed,
        "quarantine": report.quarantine,
        "variants": {
            v.variant: {"model_version": v.model_version, "auc": v.auc, "pr_auc": v.pr_auc, "coverage": v.coverage}
            for v in report.variants
        },
    }


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = settings()
    window, now = window_for(event, config)
    report = evaluate_and_publish(
        s3=_S3, cloudwatch=_CLOUDWATCH, settings=config, window=window, now=now, version_of=version_lookup
    )
    result = summary(report)
    logger.info("quality evaluation finished", extra=result)
    return result

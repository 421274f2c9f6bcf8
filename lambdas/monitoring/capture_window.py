"""One monitoring window of data capture, listed into a SageMaker Processing ``ManifestFile``.

The first step of the scheduled drift-monitoring state machine. A run covers the window ``[end - WINDOW_HOURS,
end)`` of whole hours, ``end`` being the event's ``time`` (or, for a backfill, its ``window_end``) truncated to
the hour, and:

- **discovers the variants** with a delimiter listing of ``<DATA_CAPTURE_S3_URI>/<ENDPOINT_NAME>/`` (every
  variant that ever captured, so a new or shadow variant is never missed);
- **lists** every object under ``<variant>/yyyy/mm/dd/hh/`` for each variant and each hour of the window
  (docs/aws-facts.md#data-capture: the capture path is
  ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``, ``hh`` being when the file was written).
  Every listing is paginated;
- **writes the manifest** to ``s3://<REPORTS_BUCKET>/<REPORTS_PREFIX>/yyyy/mm/dd/hh/manifest.json`` (``hh`` = the
  window start). The key depends only on the window, so a rerun overwrites it, and a rerun that finds nothing
  deletes a stale one. The document is the Processing ``ManifestFile`` format::

      [{"prefix": "s3://<capture bucket>/<capture prefix>/<endpoint>/"},
       "<variant>/yyyy/mm/dd/hh/<file>.jsonl", ...]

  relative keys sorted by variant, hour and key, so the same objects always give the same bytes. Every entry
  starts with its variant (``<variant>/yyyy/mm/dd/hh/<file>``), so the job can tell the variants apart by the
  suffix (expected to be the file's path under the input's local path; to confirm on a first real job), and
  ``ShardedByS3Key`` spreads the objects over the instances. An empty window writes NO manifest (a
  Processing job cannot run on an empty one): ``manifest_uri`` is ``None`` and the state machine skips the job
  on ``object_count == 0``;
- **publishes** ``CaptureObjects`` (unit Count, dimensions ``Model, Environment``) = the window's object count,
  zero included, so an alarm on it can tell that captures stopped arriving. The datapoint is timestamped at the
  window end: a scheduled run's lands in the current period, a backfill's lands in its own window's history
  (where it cannot mask a current outage) or, when that is older than CloudWatch accepts, is not sent.

Capture files of the last hour may still be flushing when the hour ends: schedule the rule a few minutes past
the hour (``cron(10 * ? * * *)``); the truncation to the hour keeps the window the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.monitoring.settings import WindowSettings

HOUR = timedelta(hours=1)
LIST_PAGE_SIZE = 1000  # ListObjectsV2 MaxKeys ceiling
MANIFEST_NAME = "manifest.json"
CAPTURE_OBJECTS_METRIC = "CaptureObjects"
# PutMetricData accepts timestamps up to two weeks in the past; keep a margin for a slow run.
MAX_METRIC_AGE = timedelta(days=14) - timedelta(hours=1)
JOB_NAME_SUFFIX_MAX = 20
_DIGEST_CHARS = 8


class MalformedScheduleEvent(ValueError):  # noqa: N818 - named by what it is; callers catch it by name
    """The event has no usable ``time`` (or ``window_end``); the message names the field."""


# ---- the window ----


def floor_hour(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class CaptureWindow:
    """Capture hours ``[start, end)``, both on the hour (UTC)."""

    start: datetime
    end: datetime

    @classmethod
    def ending_at(cls, moment: datetime, *, window_hours: int) -> CaptureWindow:
        end = floor_hour(moment)
        return cls(end - timedelta(hours=window_hours), end)

    @property
    def window_id(self) -> str:
        """``yyyymmddThh`` of the start, e.g. ``20260302T11``."""
        return f"{self.start:%Y%m%dT%H}"

    @property
    def path(self) -> str:
        """``yyyy/mm/dd/hh`` of the start."""
        return f"{self.start:%Y/%m/%d/%H}"

    def hours(self) -> Iterator[datetime]:
        hour = self.start
        while hour < self.end:
            yield hour
            hour += HOUR


def _timestamp(value: object, field: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise MalformedScheduleEvent(f"{field} must be an ISO-8601 timestamp string, e.g. 2026-03-02T12:00:00Z")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MalformedScheduleEvent(f"{field} is not an ISO-8601 timestamp: {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class WindowRequest:
    window: CaptureWindow
    time: datetime  # the schedule time of the event
    backfill: bool


def window_request(event: object, *, window_hours: int) -> WindowRequest:
    """The window of ``{"time": ..., "window_end"?: ...}`` (naive timestamps are UTC).

    ``window_end`` may also sit in ``detail`` (an EventBridge event of a backfill rule, passed through whole),
    not in both places. A backfill window must have closed by ``time``.
    """
    if not isinstance(event, Mapping):
        raise MalformedScheduleEvent(f"the event must be a JSON object with a 'time' field, got {type(event).__name__}")
    now = _timestamp(event.get("time"), "time")
    detail = event.get("detail")
    nested = detail.get("window_end") if isinstance(detail, Mapping) else None
    top = event.get("window_end")
    if top is not None and nested is not None:
        raise MalformedScheduleEvent("give window_end once, either at the top level or in detail")
    if top is None and nested is None:
        return WindowRequest(CaptureWindow.ending_at(now, window_hours=window_hours), now, backfill=False)
    field = "window_end" if top is not None else "detail.window_end"
    end = _timestamp(top if top is not None else nested, field)
    if floor_hour(end) > floor_hour(now):
        raise MalformedScheduleEvent(
            f"{field} {iso_utc(end)} is after the event time {iso_utc(now)}: that window has not closed yet"
        )
    return WindowRequest(CaptureWindow.ending_at(end, window_hours=window_hours), now, backfill=True)


# ---- names ----


def manifest_key(settings: WindowSettings, window: CaptureWindow) -> str:
    return settings.reports.key(window.path, MANIFEST_NAME)


def output_prefix(settings: WindowSettings, window: CaptureWindow) -> str:
    """``s3://<bucket>/<prefix>/yyyy/mm/dd/hh`` (no trailing slash)."""
    return settings.reports.uri(window.path)


def job_name_suffix(model_name: str, environment: str, window_id: str) -> str:
    """``<window id>-<8 hex of sha256(model, environment, window id)>``: 20 characters of ``[a-zA-Z0-9-]``."""
    digest = hashlib.sha256(f"{model_name}\n{environment}\n{window_id}".encode()).hexdigest()[:_DIGEST_CHARS]
    return f"{window_id}-{digest}"[:JOB_NAME_SUFFIX_MAX]


def capture_root(settings: WindowSettings) -> str:
    """Key prefix of the endpoint's captures, ``<capture prefix>/<endpoint>/`` (the manifest's common prefix)."""
    return settings.data_capture.key(settings.endpoint_name) + "/"


# ---- listing ----


def _pages(s3: Any, *, page_size: int, **params: Any) -> Iterator[dict[str, Any]]:
    paginator = s3.get_paginator("list_objects_v2")
    yield from paginator.paginate(**params, PaginationConfig={"PageSize": max(1, min(page_size, LIST_PAGE_SIZE))})


def discover_variants(s3: Any, settings: WindowSettings, *, page_size: int = LIST_PAGE_SIZE) -> list[str]:
    """Every variant folder under the endpoint's capture prefix, sorted."""
    root = capture_root(settings)
    found: set[str] = set()
    for page in _pages(s3, page_size=page_size, Bucket=settings.data_capture.bucket, Prefix=root, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            variant = common["Prefix"][len(root) :].strip("/")
            if variant:
                found.add(variant)
    return sorted(found)


def list_window(
    s3: Any, settings: WindowSettings, window: CaptureWindow, *, page_size: int = LIST_PAGE_SIZE
) -> dict[str, list[str]]:
    """Keys relative to ``capture_root`` of every capture object of the window, by variant (variants with none
    are left out). Ordered by hour, then key."""
    root = capture_root(settings)
    bucket = settings.data_capture.bucket
    objects: dict[str, list[str]] = {}
    for variant in discover_variants(s3, settings, page_size=page_size):
        keys: list[str] = []
        for hour in window.hours():
            prefix = f"{root}{variant}/{hour:%Y/%m/%d/%H}/"
            for page in _pages(s3, page_size=page_size, Bucket=bucket, Prefix=prefix):
                keys.extend(
                    item["Key"][len(root) :] for item in page.get("Contents", []) if not item["Key"].endswith("/")
                )
        if keys:
            objects[variant] = keys
    return objects


def manifest_document(settings: WindowSettings, relative_keys: list[str]) -> list[Any]:
    """The ``ManifestFile``: ``[{"prefix": "s3://bucket/common/prefix/"}, "relative/key", ...]``."""
    return [{"prefix": f"s3://{settings.data_capture.bucket}/{capture_root(settings)}"}, *relative_keys]


# ---- CloudWatch ----


def capture_metric(settings: WindowSettings, count: int, *, timestamp: datetime) -> list[dict[str, Any]]:
    return [
        {
            "MetricName": CAPTURE_OBJECTS_METRIC,
            "Dimensions": [
                {"Name": "Model", "Value": settings.model_name},
                {"Name": "Environment", "Value": settings.environment},
            ],
            "Timestamp": timestamp,
            "Value": float(count),
            "Unit": "Count",
        }
    ]


# ---- the run ----


@dataclass(frozen=True, kw_only=True)
class PreparedWindow:
    window: CaptureWindow
    manifest_uri: str | None
    object_count: int
    variants: tuple[str, ...]
    output_prefix: str
    job_name_suffix: str
    metric_published: bool

    def to_dict(self) -> dict[str, Any]:
        """The step's result (the state machine's input to the Processing job)."""
        return {
            "window_id": self.window.window_id,
            "window_start": iso_utc(self.window.start),
            "window_end": iso_utc(self.window.end),
            "manifest_uri": self.manifest_uri,
            "object_count": self.object_count,
            "variants": list(self.variants),
            "output_prefix": self.output_prefix,
            "job_name_suffix": self.job_name_suffix,
        }


def prepare_window(
    *,
    s3: Any,
    cloudwatch: Any,
    settings: WindowSettings,
    window: CaptureWindow,
    now: datetime,
    page_size: int = LIST_PAGE_SIZE,
) -> PreparedWindow:
    """Lists the window, writes (or, when empty, deletes) its manifest and publishes ``CaptureObjects``.

    ``now`` is the event time; it only decides whether the window end is still recent enough for CloudWatch.
    """
    by_variant = list_window(s3, settings, window, page_size=page_size)
    relative = [key for variant in sorted(by_variant) for key in by_variant[variant]]
    bucket, key = settings.reports.bucket, manifest_key(settings, window)
    if relative:
        body = json.dumps(manifest_document(settings, relative), indent=0) + "\n"
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
        manifest_uri: str | None = f"s3://{bucket}/{key}"
    else:
        s3.delete_object(Bucket=bucket, Key=key)  # a stale manifest of an earlier run must not be picked up
        manifest_uri = None
    publish = now - window.end <= MAX_METRIC_AGE
    if publish:
        cloudwatch.put_metric_data(
            Namespace=settings.metrics_namespace,
            MetricData=capture_metric(settings, len(relative), timestamp=window.end),
        )
    return PreparedWindow(
        window=window,
        manifest_uri=manifest_uri,
        object_count=len(relative),
        variants=tuple(sorted(by_variant)),
        output_prefix=output_prefix(settings, window),
        job_name_suffix=job_name_suffix(settings.model_name, settings.environment, window.window_id),
        metric_published=publish,
    )

"""The window of a schedule event: [end - WINDOW_HOURS, end) with end = time (or window_end) truncated to the hour."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.monitoring.capture_window import (
    CaptureWindow,
    MalformedScheduleEvent,
    job_name_suffix,
    window_request,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("time", "hours", "start", "end"),
    [
        ("2026-03-02T12:00:00Z", 1, utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)),
        ("2026-03-02T12:59:59Z", 1, utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)),
        ("2026-03-02T12:10:00.123456+00:00", 6, utc(2026, 3, 2, 6), utc(2026, 3, 2, 12)),
        ("2026-03-02T00:10:00Z", 24, utc(2026, 3, 1), utc(2026, 3, 2)),
        ("2026-03-01T01:30:00Z", 3, utc(2026, 2, 28, 22), utc(2026, 3, 1, 1)),  # across a month end
        ("2026-03-02T13:10:00+01:00", 1, utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)),  # an offset is converted
        ("2026-03-02T12:10:00", 1, utc(2026, 3, 2, 11), utc(2026, 3, 2, 12)),  # naive means UTC
    ],
)
def test_a_scheduled_event_covers_the_hours_before_its_time(
    time: str, hours: int, start: datetime, end: datetime
) -> None:
    request = window_request({"time": time}, window_hours=hours)
    assert request.window == CaptureWindow(start, end)
    assert not request.backfill
    assert len(list(request.window.hours())) == hours


def test_a_full_eventbridge_event_works_too() -> None:
    event = {"version": "0", "detail-type": "Scheduled Event", "time": "2026-03-02T12:00:00Z", "detail": {}}
    assert window_request(event, window_hours=1).window.start == utc(2026, 3, 2, 11)


@pytest.mark.parametrize(
    "event",
    [
        {"time": "2026-03-02T12:10:00Z", "window_end": "2026-02-20T08:30:00Z"},
        {"time": "2026-03-02T12:10:00Z", "detail": {"window_end": "2026-02-20T08:00:00Z"}},
    ],
)
def test_a_backfill_window_ends_at_window_end_truncated(event: dict[str, Any]) -> None:
    request = window_request(event, window_hours=2)
    assert request.window == CaptureWindow(utc(2026, 2, 20, 6), utc(2026, 2, 20, 8))
    assert request.backfill
    assert request.time == utc(2026, 3, 2, 12, 10)


def test_window_identifiers() -> None:
    window = window_request({"time": "2026-03-02T12:10:00Z"}, window_hours=1).window
    assert (window.window_id, window.path) == ("20260302T11", "2026/03/02/11")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "the event must be a JSON object with a 'time' field, got NoneType"),
        ([{"time": "2026-03-02T12:00:00Z"}], "the event must be a JSON object"),
        ({}, "time must be an ISO-8601 timestamp string"),
        ({"time": ""}, "time must be an ISO-8601 timestamp string"),
        ({"time": 1772452800}, "time must be an ISO-8601 timestamp string"),
        ({"time": "yesterday"}, "time is not an ISO-8601 timestamp: 'yesterday'"),
        ({"time": "2026-02-30T12:00:00Z"}, "time is not an ISO-8601 timestamp"),
        ({"window_end": "2026-03-02T12:00:00Z"}, "time must be an ISO-8601 timestamp string"),
        ({"time": "2026-03-02T12:00:00Z", "window_end": "soon"}, "window_end is not an ISO-8601 timestamp"),
        ({"time": "2026-03-02T12:00:00Z", "window_end": ""}, "window_end must be an ISO-8601 timestamp string"),
        (
            {"time": "2026-03-02T12:00:00Z", "detail": {"window_end": 5}},
            "detail.window_end must be an ISO-8601 timestamp string",
        ),
        (
            {"time": "2026-03-02T12:10:00Z", "window_end": "2026-03-02T13:00:00Z"},
            "window_end 2026-03-02T13:00:00Z is after the event time 2026-03-02T12:10:00Z: that window has not closed",
        ),
        (
            {"time": "2026-03-02T12:00:00Z", "window_end": "2026-03-01T00:00:00Z", "detail": {"window_end": "x"}},
            "give window_end once",
        ),
    ],
)
def test_malformed_events_are_rejected_with_a_clear_message(event: object, message: str) -> None:
    with pytest.raises(MalformedScheduleEvent, match=message):
        window_request(event, window_hours=1)


def test_a_backfill_may_end_at_the_current_hour() -> None:
    request = window_request({"time": "2026-03-02T12:10:00Z", "window_end": "2026-03-02T12:59:00Z"}, window_hours=1)
    assert request.window.end == utc(2026, 3, 2, 12)


def test_the_job_name_suffix_is_short_safe_and_distinguishes_model_environment_and_window() -> None:
    suffix = job_name_suffix("fraud-detection", "dev", "20260302T11")
    assert suffix == job_name_suffix("fraud-detection", "dev", "20260302T11")
    assert len(suffix) == 20
    assert suffix.startswith("20260302T11-")
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in suffix)
    others = {
        job_name_suffix("fraud-detection", "prod", "20260302T11"),
        job_name_suffix("churn", "dev", "20260302T11"),
        job_name_suffix("fraud-detection", "dev", "20260302T12"),
    }
    assert suffix not in others
    assert len(others) == 3

"""Capture and ground-truth lines: the encodings SageMaker writes, and a reason for every unusable line."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from lambdas.quality.logic import EvaluationWindow, MalformedLine, parse_capture, parse_label
from tests.unit.quality.conftest import capture_line, label_line

TIME = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def with_output(data: str, encoding: str) -> str:
    record = json.loads(capture_line("a", 0.0, time=TIME))
    record["captureData"]["endpointOutput"].update(data=data, encoding=encoding)
    return json.dumps(record)


@pytest.mark.parametrize(
    ("data", "encoding", "score"),
    [
        ("0.25", "CSV", 0.25),
        ("0.25\n", "CSV", 0.25),
        (base64.b64encode(b"0.75").decode(), "BASE64", 0.75),
        ("[0.5]", "JSON", 0.5),
        ("0.125", "JSON", 0.125),
    ],
)
def test_scores_are_read_from_each_encoding(data: str, encoding: str, score: float) -> None:
    assert parse_capture(with_output(data, encoding)).score == score


@pytest.mark.parametrize(
    ("data", "encoding"),
    [("0.1,0.9", "CSV"), ("0.1\n0.9", "CSV"), ("inf", "CSV"), ("", "CSV"), ("%%%", "BASE64"), ('{"s": 1}', "JSON")],
)
def test_an_unusable_score_is_bad_score(data: str, encoding: str) -> None:
    with pytest.raises(MalformedLine, match="bad_score"):
        parse_capture(with_output(data, encoding))


def test_a_capture_carries_its_id_time_and_business_columns() -> None:
    capture = parse_capture(capture_line("abc", 0.4, time=TIME, amount=12.5), value_columns=(0, 2))

    assert (capture.inference_id, capture.inference_time, capture.score) == ("abc", TIME, 0.4)
    assert capture.values == (12.5, 14.0)


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("0", 0), ("1.0", 1), ("true", 1), ("False", 0), (" 1 ", 1)])
def test_label_values(value: str, expected: int) -> None:
    assert parse_label(label_line("x", value)) == parse_label(label_line("x", expected))
    assert parse_label(label_line("x", value)).value == expected


@pytest.mark.parametrize(("value", "reason"), [("2", "bad_label"), ("yes", "bad_label"), ("0,1", "bad_label")])
def test_label_values_other_than_zero_or_one_are_malformed(value: str, reason: str) -> None:
    with pytest.raises(MalformedLine, match=reason):
        parse_label(label_line("x", value))


def test_the_inference_time_must_be_a_timestamp() -> None:
    line = capture_line("a", 0.5, time=TIME).replace("2026-03-01T10:15:00Z", "yesterday")
    with pytest.raises(MalformedLine, match="bad_inference_time"):
        parse_capture(line)


def test_the_window_ends_one_lag_before_the_event_floored_to_the_hour() -> None:
    window = EvaluationWindow.ending_before(datetime(2026, 3, 2, 11, 7, tzinfo=UTC), lag_hours=24, window_hours=2)

    assert (window.start, window.end) == (datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC))
    assert window.labels_until == datetime(2026, 3, 2, 11, tzinfo=UTC)

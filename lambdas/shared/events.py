"""Readers of the values the step functions receive in their events, and the one time format of their tables.

Used by the deployment and the retraining functions alike (their packages' ``events.py`` add what only they
read: the deployment id; the execution name, the trigger, task tokens). Every problem is a ``MalformedRequest``
naming the field. Extra keys are ignored, so a state machine may pass a previous step's whole output on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lambdas.shared.errors import MalformedRequest

# A Step Functions execution name (1-80 characters) and the ids derived from it: 1-128 letters, digits, _ . : -
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_PACKAGE_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/[A-Za-z0-9\-]{1,63}(/\d+)?$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def as_mapping(event: object, *, where: str = "event") -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise MalformedRequest(f"{where}: expected a JSON object, got {type(event).__name__}")
    return event


def optional_identifier(event: Mapping[str, Any], key: str) -> str | None:
    """A stable id (an execution name, a deployment id): 1-128 letters, digits, ``_ . : -``, or None if absent."""
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise MalformedRequest(
            f"{key}: {value!r} must be 1-128 letters, digits, '_', '.', ':' or '-', starting alphanumeric"
        )
    return value


def identifier(event: Mapping[str, Any], key: str, *, hint: str) -> str:
    found = optional_identifier(event, key)
    if found is None:
        raise MalformedRequest(f"{key}: missing ({hint})")
    return found


def package_arn(event: Mapping[str, Any], key: str = "model_package_arn") -> str:
    value = event.get(key)
    if value is None:
        raise MalformedRequest(f"{key}: missing")
    if not isinstance(value, str) or not _PACKAGE_ARN.match(value):
        raise MalformedRequest(f"{key}: {value!r} is not a versioned SageMaker model package ARN")
    return value


def optional_text(event: Mapping[str, Any], key: str, *, max_length: int = 256) -> str | None:
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise MalformedRequest(f"{key}: expected a non-empty string of at most {max_length} characters")
    return value.strip()


def text(event: Mapping[str, Any], key: str, *, max_length: int = 256) -> str:
    value = optional_text(event, key, max_length=max_length)
    if value is None:
        raise MalformedRequest(f"{key}: missing")
    return value


def optional_int(event: Mapping[str, Any], key: str, *, low: int, high: int) -> int | None:
    value = event.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedRequest(f"{key}: expected an integer in [{low}, {high}], got {value!r}")
    return value


def optional_time(event: Mapping[str, Any], key: str) -> datetime | None:
    """An ISO-8601 timestamp with an offset (``Z`` included), e.g. Step Functions' ``$$.State.EnteredTime``."""
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedRequest(f"{key}: expected an ISO-8601 timestamp string, got {type(value).__name__}")
    return parse_iso(value, key)


def time(event: Mapping[str, Any], key: str) -> datetime:
    found = optional_time(event, key)
    if found is None:
        raise MalformedRequest(f"{key}: missing")
    return found


def parse_iso(value: str, key: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedRequest(f"{key}: {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        raise MalformedRequest(f"{key}: {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order (the tables' sort keys rely on it)."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


def request_time(event: object) -> datetime:
    """``now`` from the event (e.g. Step Functions' ``$$.State.EnteredTime``), else the clock."""
    found = optional_time(event, "now") if isinstance(event, Mapping) else None
    return found or datetime.now(UTC)

"""Parsing of the events the retraining functions receive. Every problem is a ``MalformedRequest`` naming the field.

Extra keys are ignored, so the state machine may pass its whole state to a step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.retraining.errors import MalformedRequest

# Step Functions execution names (1-80 characters) and the deployment ids derived from them.
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:pipeline/(?P<pipeline>[A-Za-z0-9\-]{1,256})"
    r"/execution/(?P<execution>[A-Za-z0-9]{1,256})$"
)
_PACKAGE_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/[A-Za-z0-9\-]{1,63}(/\d+)?$")
TRIGGER_DETAIL_MAX = 4000  # characters of JSON kept in the state table and the notification
REASON_MAX = 2000


def as_mapping(event: object, *, where: str = "event") -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise MalformedRequest(f"{where}: expected a JSON object, got {type(event).__name__}")
    return event


def execution_name(event: Mapping[str, Any]) -> str:
    """The Step Functions execution name (``$$.Execution.Name``): the run's stable idempotency key."""
    value = event.get("execution_name")
    if value is None:
        raise MalformedRequest("execution_name: missing (pass $$.Execution.Name)")
    if not isinstance(value, str) or not _EXECUTION_NAME.match(value):
        raise MalformedRequest(
            f"execution_name: {value!r} must be 1-128 letters, digits, '_', '.', ':' or '-', starting alphanumeric"
        )
    return value


def text(event: Mapping[str, Any], key: str, *, max_length: int = 2048) -> str:
    value = optional_text(event, key, max_length=max_length)
    if value is None:
        raise MalformedRequest(f"{key}: missing")
    return value


def optional_text(event: Mapping[str, Any], key: str, *, max_length: int = 2048) -> str | None:
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise MalformedRequest(f"{key}: expected a non-empty string of at most {max_length} characters")
    return value.strip()


def pipeline_execution_arn(event: Mapping[str, Any], key: str = "pipeline_execution_arn") -> str:
    value = event.get(key)
    if not isinstance(value, str) or not _PIPELINE_EXECUTION_ARN.match(value):
        raise MalformedRequest(f"{key}: {value!r} is not a SageMaker pipeline execution ARN")
    return value


def split_pipeline_execution_arn(arn: str) -> tuple[str, str]:
    """(pipeline name, execution id) of a pipeline execution ARN."""
    match = _PIPELINE_EXECUTION_ARN.match(arn)
    if match is None:
        raise MalformedRequest(f"{arn!r} is not a SageMaker pipeline execution ARN")
    return match["pipeline"], match["execution"]


def package_arn(event: Mapping[str, Any], key: str = "model_package_arn") -> str:
    value = event.get(key)
    if not isinstance(value, str) or not _PACKAGE_ARN.match(value):
        raise MalformedRequest(f"{key}: {value!r} is not a versioned SageMaker model package ARN")
    return value


def task_token(event: Mapping[str, Any]) -> str:
    value = event.get("task_token")
    if not isinstance(value, str) or not 1 <= len(value) <= 2048:
        raise MalformedRequest("task_token: missing (invoke with .waitForTaskToken and pass $$.Task.Token)")
    return value


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """What asked for the run: ``source`` (e.g. ``alarm``, ``schedule``, ``manual``) and optional JSON detail."""

    source: str
    detail: str = ""  # compact JSON, at most TRIGGER_DETAIL_MAX characters

    def describe(self) -> str:
        return f"{self.source} {self.detail}" if self.detail else self.source


def trigger(event: Mapping[str, Any]) -> Trigger:
    raw = event.get("trigger")
    if raw is None:
        raise MalformedRequest("trigger: missing ({source, detail?})")
    value = as_mapping(raw, where="trigger")
    source = value.get("source")
    if not isinstance(source, str) or not source.strip() or len(source) > 256:
        raise MalformedRequest("trigger.source: expected a non-empty string of at most 256 characters")
    detail = value.get("detail")
    encoded = "" if detail is None else json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
    if len(encoded) > TRIGGER_DETAIL_MAX:
        encoded = encoded[: TRIGGER_DETAIL_MAX - 3] + "..."
    return Trigger(source=source.strip(), detail=encoded)


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
    """Fixed-width UTC text, so that text order is time order (state-table sort keys rely on it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def format_window_time(moment: datetime) -> str:
    """The pipeline's WindowStart/WindowEnd format (the feature store's event-time text, millisecond UTC)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def outcome_reason(request: Mapping[str, Any]) -> str:
    """``reason``, else the caught error's message (``{"Error", "Cause"}`` as Step Functions' Catch puts it)."""
    reason = request.get("reason")
    if isinstance(reason, str) and reason.strip():
        return reason.strip()[:REASON_MAX]
    error = request.get("error")
    if isinstance(error, dict):
        name, message = error_message(error)
        return f"{name}: {message}"[:REASON_MAX] if message else name[:REASON_MAX]
    return ""


def error_message(error: dict[str, Any]) -> tuple[str, str]:
    """(error name, message) of a caught error. A Lambda error's Cause is JSON with ``errorMessage``; a task
    failure's (``send_task_failure``) is the plain cause text."""
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    if not isinstance(cause, str):
        return name, ""
    try:
        parsed = json.loads(cause)
    except json.JSONDecodeError:
        return name, cause.strip()
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed.get("errorType") or name), parsed["errorMessage"].strip()
    return name, cause.strip()

"""The event readers of the retraining functions: the shared ones (``lambdas/shared/events.py``) and what only
these functions read (the execution name, pipeline execution ARNs, task tokens, the trigger, a caught error).
Every problem is a ``MalformedRequest`` naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.shared.errors import MalformedRequest
from lambdas.shared.events import (
    as_mapping,
    format_time,
    identifier,
    optional_text,
    optional_time,
    package_arn,
    parse_time,
    text,
    time,
)

# The shared readers and this package's own: what the retraining functions read from their events.
__all__ = [
    "REASON_MAX",
    "TRIGGER_DETAIL_MAX",
    "Trigger",
    "as_mapping",
    "error_message",
    "execution_name",
    "format_time",
    "format_window_time",
    "optional_text",
    "optional_time",
    "outcome_reason",
    "package_arn",
    "parse_time",
    "pipeline_execution_arn",
    "split_pipeline_execution_arn",
    "task_token",
    "text",
    "time",
    "trigger",
]

_PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:pipeline/(?P<pipeline>[A-Za-z0-9\-]{1,256})"
    r"/execution/(?P<execution>[A-Za-z0-9]{1,256})$"
)
TRIGGER_DETAIL_MAX = 4000  # characters of JSON kept in the state table and the notification
REASON_MAX = 2000


def execution_name(event: Mapping[str, Any]) -> str:
    """The Step Functions execution name (``$$.Execution.Name``): the run's stable idempotency key."""
    return identifier(event, "execution_name", hint="pass $$.Execution.Name")


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

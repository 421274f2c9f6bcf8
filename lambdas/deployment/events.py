"""Parsing of the events the deployment functions receive. Every problem is a ``MalformedRequest`` naming the field.

Extra keys are ignored, so the state machine may pass a previous step's whole output to the next step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lambdas.deployment.errors import MalformedRequest

_DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_PACKAGE_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/[A-Za-z0-9\-]{1,63}(/\d+)?$")


def as_mapping(event: object) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise MalformedRequest(f"event: expected a JSON object, got {type(event).__name__}")
    return event


def deployment_id(event: Mapping[str, Any]) -> str:
    """The deployment's stable id (the Step Functions execution name): 1-128 letters, digits, ``_ . : -``."""
    found = optional_deployment_id(event)
    if found is None:
        raise MalformedRequest("deployment_id: missing (the Step Functions execution name, for example)")
    return found


def optional_deployment_id(event: Mapping[str, Any]) -> str | None:
    value = event.get("deployment_id")
    if value is None:
        return None
    if not isinstance(value, str) or not _DEPLOYMENT_ID.match(value):
        raise MalformedRequest(
            f"deployment_id: {value!r} must be 1-128 letters, digits, '_', '.', ':' or '-', starting alphanumeric"
        )
    return value


def package_arn(event: Mapping[str, Any]) -> str:
    value = event.get("model_package_arn")
    if value is None:
        raise MalformedRequest("model_package_arn: missing")
    if not isinstance(value, str) or not _PACKAGE_ARN.match(value):
        raise MalformedRequest(f"model_package_arn: {value!r} is not a versioned SageMaker model package ARN")
    return value


def optional_text(event: Mapping[str, Any], key: str, *, max_length: int = 256) -> str | None:
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise MalformedRequest(f"{key}: expected a non-empty string of at most {max_length} characters")
    return value.strip()


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
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedRequest(f"{key}: {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        raise MalformedRequest(f"{key}: {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order (history sort keys rely on it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

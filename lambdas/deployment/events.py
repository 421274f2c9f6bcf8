"""The event readers of the deployment functions: the shared ones (``lambdas/shared/events.py``) and the
deployment id, the one value only these functions read. Every problem is a ``MalformedRequest`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.shared.events import (
    as_mapping,
    format_time,
    identifier,
    optional_identifier,
    optional_int,
    optional_text,
    optional_time,
    package_arn,
    parse_time,
)

# The shared readers and this package's own: what the deployment functions read from their events.
__all__ = [
    "as_mapping",
    "deployment_id",
    "format_time",
    "optional_deployment_id",
    "optional_int",
    "optional_text",
    "optional_time",
    "package_arn",
    "parse_time",
]


def deployment_id(event: Mapping[str, Any]) -> str:
    """The deployment's stable id (the Step Functions execution name): 1-128 letters, digits, ``_ . : -``."""
    return identifier(event, "deployment_id", hint="the Step Functions execution name, for example")


def optional_deployment_id(event: Mapping[str, Any]) -> str | None:
    return optional_identifier(event, "deployment_id")

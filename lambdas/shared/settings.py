"""Readers of a function's environment variables, shared by the deployment and retraining settings.

Each raises ``ConfigurationError`` naming the variable; ``require`` names every missing one at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from lambdas.shared.errors import ConfigurationError


def require(environ: Mapping[str, str], names: tuple[str, ...]) -> None:
    missing = [name for name in names if not environ.get(name, "").strip()]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")


def json_value(environ: Mapping[str, str], name: str) -> Any:
    try:
        return json.loads(environ[name])
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{name} is not JSON: {error}") from None


def json_object(text: str, variable: str) -> dict[str, Any]:
    """A variable's JSON object (settings such as ``DEPLOYMENT_SETTINGS``, ``RETRAINING_POLICY``)."""
    raw = json_value({variable: text}, variable)
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{variable} must be a JSON object")
    return raw


def integer(environ: Mapping[str, str], name: str, low: int, high: int) -> int:
    return int(number(environ, name, low, high, kind=int))


def number(
    environ: Mapping[str, str], name: str, low: float, high: float, *, kind: type[int] | type[float] = float
) -> float:
    """The variable as ``kind`` (``int`` or ``float``), finite and within ``[low, high]``."""
    text = environ[name].strip()
    try:
        value = kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {expected}, got {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigurationError(f"{name}={value if kind is int else text} is outside [{low}, {high}]")
    return value

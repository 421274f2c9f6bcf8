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


def integer(environ: Mapping[str, str], name: str, low: int, high: int) -> int:
    text = environ[name].strip()
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={value} is outside [{low}, {high}]")
    return value


def number(environ: Mapping[str, str], name: str, low: float, high: float) -> float:
    text = environ[name].strip()
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigurationError(f"{name}={text} is outside [{low}, {high}]")
    return value

"""Small field validators shared by the config dataclasses. Each raises ConfigError naming the field."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from config.errors import ConfigError

E = TypeVar("E", bound=Enum)


def coerce_enum(field: str, enum_type: type[E], value: object) -> E:
    """Accept an enum member or its value; anything else is an error that lists the allowed values."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_type)
        raise ConfigError(field, f"unknown value {value!r}; expected one of {allowed}") from None


def in_range(field: str, value: float, low: float, high: float, *, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, f"expected a number, got {value!r}")
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise ConfigError(field, f"{value}{suffix} is outside the allowed range [{low}, {high}]{suffix}")


def positive_int(field: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, f"expected a positive integer, got {value!r}")


def non_empty(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, "must not be empty")

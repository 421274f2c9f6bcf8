"""Reading a model score out of an endpoint response or a captured output (CSV or JSON)."""

from __future__ import annotations

import json
import math
from typing import Any


class NotAScore(ValueError):  # noqa: N818 - a parse failure, turned into a typed error by the callers
    pass


def parse_score(text: str) -> float:
    """The first score in ``text``: CSV (``0.93`` or ``0.93,...``), a JSON number, a list, or an object with
    ``score`` or ``predictions`` (built-in XGBoost answers a bare CSV number for ``text/csv``)."""
    stripped = text.strip()
    if not stripped:
        raise NotAScore("empty body")
    if stripped[0] in "[{":
        try:
            return _from_json(json.loads(stripped))
        except json.JSONDecodeError as error:
            raise NotAScore(f"invalid JSON: {error.msg}") from None
    first = stripped.splitlines()[0].split(",")[0].strip()
    return _number(first)


def _from_json(value: Any) -> float:
    if isinstance(value, dict):
        for key in ("score", "predictions", "probabilities", "predicted_label"):
            if key in value:
                return _from_json(value[key])
        raise NotAScore(f"no score in JSON object with keys {sorted(value)[:5]}")
    if isinstance(value, list):
        if not value:
            raise NotAScore("empty JSON list")
        return _from_json(value[0])
    return _number(value)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise NotAScore(f"{value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise NotAScore(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise NotAScore(f"{value!r} is not finite")
    return number

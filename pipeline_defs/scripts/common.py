"""Helpers every step script shares: the input-error type, the ``main()`` wrapper and small file helpers.

A step's logic raises ``StepInputError`` (or one of the feature module's ``ValueError`` subclasses) for bad
input; ``run_main`` turns those into one ``error: <message>`` line on stderr and exit status 2. Anything
else is a bug and keeps its traceback. The Python-3.8-safe part (``StepInputError``, ``run_main``'s wrapper,
the file finders) lives in ``base.py`` for the Score step; this module needs Python >= 3.11.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lambdas.shared.features import FeatureInputError, MalformedEvent, format_event_time, parse_event_time
from pipeline_defs.scripts import base
from pipeline_defs.scripts.base import EXIT_BAD_INPUT, StepInputError, files_under, single_file

__all__ = [
    "EXIT_BAD_INPUT",
    "StepInputError",
    "files_under",
    "finite",
    "iso",
    "parse_utc",
    "read_json",
    "run_main",
    "single_file",
    "write_json",
]


def run_main(
    step: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> int:
    """Parse arguments, run the step, and map input errors (the feature module's too) to a one-line message
    and exit status 2."""
    return base.run_main(step, parser, argv, (StepInputError, MalformedEvent, FeatureInputError))


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StepInputError(f"{what}: '{path}' does not exist") from None
    except json.JSONDecodeError as error:
        raise StepInputError(f"{what}: '{path}' is not valid JSON ({error})") from None


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (NaN and infinity are refused: JSON has neither)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def parse_utc(text: str, what: str, *, naive_is_utc: bool = False) -> datetime:
    """An ISO-8601 timestamp as a UTC datetime (``StepInputError`` naming ``what`` if it is not one).

    Without ``naive_is_utc`` the text must carry an offset; with it, text without one is read as UTC (as
    Athena and the dataset step read stored event times).
    """
    if naive_is_utc:
        try:
            if datetime.fromisoformat(text).tzinfo is None:
                text += "+00:00"
        except ValueError:
            pass  # reported below with the usual message
    try:
        return parse_event_time(text, field=what)
    except MalformedEvent as error:
        raise StepInputError(str(error).removeprefix("malformed event: ")) from None


def iso(moment: datetime | None) -> str | None:
    return format_event_time(moment) if moment is not None else None


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise StepInputError(f"{what} is {value}, expected a finite number")
    return value

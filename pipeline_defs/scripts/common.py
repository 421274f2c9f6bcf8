"""Helpers every step script shares: the input-error type, the ``main()`` wrapper and small file helpers.

A step's logic raises ``StepInputError`` (or one of the feature module's ``ValueError`` subclasses) for bad
input; ``run_main`` turns those into one ``error: <message>`` line on stderr and exit status 2. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lambdas.shared.features import FeatureInputError, MalformedEvent, format_event_time, parse_event_time

EXIT_BAD_INPUT = 2


class StepInputError(Exception):
    """The step's input is unusable; the message names the file, column or value at fault."""


def run_main(
    step: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> int:
    """Parse arguments, run the step, and map input errors to a one-line message and exit status 2."""
    args = parser.parse_args(argv)
    try:
        step(args)
    except (StepInputError, MalformedEvent, FeatureInputError) as error:
        print(f"error: {parser.prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def single_file(directory: Path, pattern: str, what: str) -> Path:
    """The one file matching ``pattern`` in ``directory`` (a file path is accepted as it is)."""
    if directory.is_file():
        return directory
    if not directory.is_dir():
        raise StepInputError(f"{what}: '{directory}' does not exist")
    matches = sorted(directory.glob(pattern))
    if len(matches) != 1:
        found = ", ".join(m.name for m in matches) or "none"
        raise StepInputError(f"{what}: expected exactly one '{pattern}' in '{directory}', found {found}")
    return matches[0]


def files_under(directory: Path, pattern: str, what: str) -> list[Path]:
    """All files matching ``pattern`` under ``directory`` (recursively); at least one is required."""
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise StepInputError(f"{what}: '{directory}' does not exist")
    matches = sorted(p for p in directory.rglob(pattern) if p.is_file())
    if not matches:
        raise StepInputError(f"{what}: no '{pattern}' files under '{directory}'")
    return matches


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

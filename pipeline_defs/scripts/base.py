"""The step helpers that run on every image's Python, 3.8 included: the input-error type, the ``main()``
wrapper and the file finders.

The Score step runs on the built-in XGBoost image (Python 3.8, ``pipeline_defs/images.py``), so this module
and ``score.py`` use nothing newer than Python 3.8 and only the standard library (annotations are never
evaluated: ``from __future__ import annotations``). ``common.py`` re-exports
these names and adds the helpers that need Python >= 3.11 (event times, from the shared feature module).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2
# The score step (XGBoost image) writes it, the evaluation step (scikit-learn image) reads it.
SCORES_FILE = "scores.csv"
# The score step writes the candidate's score of every baseline row; the baseline step reads it as the
# baseline's prediction column.
BASELINE_SCORES_FILE = "baseline-scores.csv"


class StepInputError(Exception):
    """The step's input is unusable; the message names the file, column or value at fault."""


def run_main(
    step: Callable[[argparse.Namespace], None],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    input_errors: tuple[type[Exception], ...] = (StepInputError,),
) -> int:
    """Parse arguments, run the step, and map input errors to one ``error: <prog>: <message>`` line on stderr
    and exit status 2. Anything else is a bug and keeps its traceback."""
    args = parser.parse_args(argv)
    try:
        step(args)
    except input_errors as error:
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

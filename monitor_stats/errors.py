"""The error a baseline that cannot be used raises; the message names the file and the field at fault."""

from __future__ import annotations


class BaselineError(ValueError):
    """The baseline ``statistics.json`` or ``constraints.json`` is missing, malformed or not the model's."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"baseline {where}: {problem}")

"""The one error type configuration validation raises."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is invalid. The message starts with the dotted path of the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

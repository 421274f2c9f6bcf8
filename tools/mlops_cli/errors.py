"""The one error type the commands raise: its message is the one line the user sees."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tools.aws_access import one_line

__all__ = ["CliError", "error_code", "one_line"]


class CliError(RuntimeError):
    """A command cannot do what was asked; the message says what is wrong (exit code 1)."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))

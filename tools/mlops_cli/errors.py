"""The one error type the commands raise: its message is the one line the user sees."""

from __future__ import annotations

from botocore.exceptions import ClientError


class CliError(RuntimeError):
    """A command cannot do what was asked; the message says what is wrong (exit code 1)."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def one_line(text: str) -> str:
    return " ".join(str(text).split())

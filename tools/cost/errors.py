"""The one error the cost estimate raises: the message names the input (template, price, assumption) at fault."""

from __future__ import annotations


class CostError(Exception):
    """The estimate cannot be made; the message says what to fix."""

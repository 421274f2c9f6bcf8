"""The two failures every step function can raise, whatever its package: bad input and bad configuration.

A Lambda function's error type is the exception's class name, and the deployment and retraining state machines
catch these two BY NAME; the shared event readers (``events.py``) and environment readers (``settings.py``)
raise them, so each name is one class. The packages' own failures are in ``lambdas/deployment/errors.py`` and
``lambdas/retraining/errors.py``.
"""

from __future__ import annotations


class ConfigurationError(Exception):
    """The function's environment is incomplete or invalid; the message names the variable."""


class MalformedRequest(Exception):  # noqa: N818 - named by what it is; the state machines catch it by name
    """The event is missing a field or has one of the wrong type or form; the message names the field."""

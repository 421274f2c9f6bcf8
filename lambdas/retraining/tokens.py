"""Completing a stored ``.waitForTaskToken`` exactly once, whoever gets there first.

The token item is deleted after use (only if it still holds the token that was used: a retried wait state
stores a new one). Step Functions answers ``TaskTimedOut``, ``InvalidToken`` or ``TaskDoesNotExist`` for a
token that was already completed, timed out, or belongs to an execution that ended; that is not an error here:
the item is deleted and the call reports ``delivered = False``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from lambdas.retraining.state import PendingToken, StateStore
from lambdas.shared.observability import logger

GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")
ERROR_MAX = 256
CAUSE_MAX = 32768


def succeed(store: StateStore, sfn: Any, pending: PendingToken, output: Mapping[str, Any]) -> bool:
    """``send_task_success`` with ``output``; ``True`` if Step Functions took it."""
    return _send(
        store,
        pending,
        lambda: sfn.send_task_success(taskToken=pending.task_token, output=json.dumps(output, sort_keys=True)),
    )


def fail(store: StateStore, sfn: Any, pending: PendingToken, *, error: str, cause: str) -> bool:
    """``send_task_failure`` with ``error`` (the name the state machine catches) and ``cause``."""
    return _send(
        store,
        pending,
        lambda: sfn.send_task_failure(
            taskToken=pending.task_token, error=error[:ERROR_MAX], cause=_truncate(cause, CAUSE_MAX)
        ),
    )


def _send(store: StateStore, pending: PendingToken, call: Any) -> bool:
    delivered = True
    try:
        call()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code not in GONE:
            raise
        delivered = False
        logger.warning(
            "task token no longer accepted; the wait already ended",
            extra={"wait": pending.kind.value, "key": pending.key, "code": code},
        )
    store.delete_token(pending)
    return delivered


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."

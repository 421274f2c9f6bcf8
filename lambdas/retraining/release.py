"""release: the last step of every path: free the lock (if this execution holds it) and record the outcome.

Event  ``{"execution_name": str, "outcome": "promoted|not_better|rejected|failed|rolled_back|skipped",
"reason"?: str, "error"?: {"Error": str, "Cause": str}, "now"?: iso}``
Result ``{execution_name, released, lock_owner, outcome, recorded, tokens_cleared}``: ``released`` is true
when this call freed the lock; ``lock_owner`` is whoever holds it afterwards (``null`` when free);
``outcome`` is the outcome that stands on the run (or skip) record (``null`` without a record); ``recorded``
is true when this call wrote it.

Only the owner releases (conditional update on ``owner``): a skipped execution, or one whose stale lock was
taken over, leaves the lock alone. The outcome is written once (a repeated release keeps the first). Pending
task tokens of the execution are deleted. Idempotent, and it never raises because the lock is already free or
held by someone else: the state machine must always get to the end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.retraining import events
from lambdas.retraining.errors import MalformedRequest
from lambdas.retraining.runtime import Aws, clients, state_env, state_store
from lambdas.retraining.settings import StateEnv
from lambdas.retraining.state import Outcome
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger


def release(event: object, *, env: StateEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    name = events.execution_name(request)
    outcome = _outcome(request)
    reason = events.outcome_reason(request)
    store = state_store(env, aws)

    released, owner = store.release(name, now=now)
    if not released and owner and owner != name:
        logger.info("lock held by another execution; left alone", extra={"execution_name": name, "owner": owner})
    cleared = 0
    for pending in store.tokens_of(name):
        store.delete_token(pending)
        cleared += 1

    record = store.record_of(name)
    recorded, standing = False, None
    if record is None:
        logger.warning("no run or skip recorded for this execution", extra={"execution_name": name})
    else:
        recorded, standing = store.record_outcome(record, outcome=outcome, reason=reason, now=now)
        if not recorded and standing != outcome:
            logger.warning(
                "an outcome was already recorded; keeping it",
                extra={"execution_name": name, "recorded": standing, "requested": outcome},
            )
    result = {
        "execution_name": name,
        "released": released,
        "lock_owner": owner or None,
        "outcome": standing,
        "recorded": recorded,
        "tokens_cleared": cleared,
    }
    logger.info("retraining run released", extra=result)
    return result


def _outcome(request: Any) -> str:
    value = request.get("outcome")
    try:
        return Outcome(value).value
    except ValueError:
        allowed = "|".join(o.value for o in Outcome)
        raise MalformedRequest(f"outcome: {value!r} is not one of {allowed}") from None


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return release(event, env=state_env(), aws=clients(), now=request_time(event))

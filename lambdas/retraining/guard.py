"""guard: let a trigger start a run, or record why it is skipped.

Event  ``{"execution_name": str, "trigger": {"source": str, "detail"?: any}, "now"?: iso}``
Result ``{execution_name, run_id, window_start, window_end, started_at}``; the training window is the last
``TRAINING_WINDOW_DAYS`` days ending ``now`` (``YYYY-MM-DDTHH:MM:SS.mmmZ``, the pipeline's WindowStart/WindowEnd).

Checks, in order; the first that fails records a SKIP item (with why) and raises:
1. ``RetrainingPaused``: the PAUSED item exists;
2. ``RetrainingInProgress``: another execution holds the lock and it is not stale (older than the pipeline
   timeout + the approval timeout; a stale lock is taken over and the takeover recorded on the run);
3. ``CooldownActive``: the last run finished (or, unfinished, started) less than ``cooldown_hours`` ago;
4. ``BudgetExhausted``: ``max_runs_per_period`` runs already started in the last ``period_days``.
Otherwise one transaction takes the lock (conditional on the generation read in 2, so 3 and 4 still hold)
and records the RUN. Idempotent: a re-invoked guard for the same execution returns its run, or raises its
recorded skip again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from lambdas.retraining import events
from lambdas.retraining.errors import (
    SKIPS,
    BudgetExhausted,
    CooldownActive,
    RetrainingInProgress,
    RetrainingPaused,
    TriggerSkipped,
)
from lambdas.retraining.events import Trigger, format_time
from lambdas.retraining.runtime import Aws, clients, guard_env, state_store
from lambdas.retraining.settings import GuardEnv
from lambdas.retraining.state import Lock, LockContended, Outcome, Run, Skip, StateStore
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger

_ATTEMPTS = 3  # re-reads when another guard changed the lock between our reads and our write


def guard(event: object, *, env: GuardEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    name = events.execution_name(request)
    trigger = events.trigger(request)
    store = state_store(env, aws)
    for _ in range(_ATTEMPTS):
        recorded = store.record_of(name)
        if isinstance(recorded, Run):
            return recorded.result()
        if isinstance(recorded, Skip):
            raise SKIPS.get(recorded.code, TriggerSkipped)(recorded.reason, until=recorded.until)
        lock = store.lock()
        skip = _why_not(store, env, lock, trigger, now)
        if skip is not None:
            raise _recorded(store, name, trigger, skip, now)
        run = _new_run(env, name, trigger, now, lock)
        try:
            store.start_run(run, seen=lock, now=now, stale_after=now + env.policy.stale_lock_after)
        except LockContended:
            continue
        if lock.owner:
            _close_abandoned(store, lock, run, now)
        logger.info("retraining run started", extra={**run.result(), "trigger": trigger.describe()})
        return run.result()
    raise _recorded(store, name, trigger, RetrainingInProgress(_in_progress(env, store.lock(), trigger)), now)


def _why_not(store: StateStore, env: GuardEnv, lock: Lock, trigger: Trigger, now: datetime) -> TriggerSkipped | None:
    pause = store.paused()
    if pause is not None:
        return RetrainingPaused(
            f"retraining of {env.label} is paused (since {_human(pause.paused_at)} by {pause.paused_by or 'unknown'}"
            f": {pause.reason or 'no reason given'}); trigger '{trigger.source}' skipped"
        )
    if not lock.is_free_at(now):
        return RetrainingInProgress(_in_progress(env, lock, trigger))
    last = store.last_run()
    if last is not None and env.policy.cooldown_hours > 0:
        ends = last.last_activity + env.policy.cooldown
        if now < ends:
            what = f"finished ({last.outcome or 'no outcome'})" if last.finished_at else "started"
            return CooldownActive(
                f"cooldown of {env.label} active until {_human(format_time(ends))}: the last run "
                f"'{last.execution_name}' {what} at {_human(format_time(last.last_activity))} and the cooldown is "
                f"{env.policy.cooldown_hours} h; trigger '{trigger.source}' skipped",
                until=format_time(ends),
            )
    runs = store.runs_since(now - env.policy.period)
    limit = env.policy.max_runs_per_period
    if len(runs) >= limit:
        # The run that has to leave the window before another fits in the budget.
        frees = events.parse_time(runs[len(runs) - limit].started_at) + env.policy.period
        return BudgetExhausted(
            f"run budget of {env.label} exhausted: {len(runs)} runs started in the last {env.policy.period_days} "
            f"day(s), at most {limit}; the next run is possible after {_human(format_time(frees))}; "
            f"trigger '{trigger.source}' skipped",
            until=format_time(frees),
        )
    return None


def _close_abandoned(store: StateStore, lock: Lock, run: Run, now: datetime) -> None:
    """The stale lock's run never released it: record it as failed (unless it recorded an outcome after all)."""
    logger.warning(
        "took over a stale retraining lock",
        extra={"previous_owner": lock.owner, "acquired_at": lock.acquired_at, "stale_after": lock.stale_after},
    )
    abandoned = store.record_at(lock.run_sk)
    if abandoned is not None:
        store.record_outcome(
            abandoned,
            outcome=Outcome.FAILED,
            reason=f"abandoned: its lock went stale and run '{run.run_id}' ({run.execution_name}) took it over",
            now=now,
        )


def _in_progress(env: GuardEnv, lock: Lock, trigger: Trigger) -> str:
    return (
        f"retraining of {env.label} already in progress: execution '{lock.owner}' holds the lock since "
        f"{_human(lock.acquired_at)} (stale after {_human(lock.stale_after)}); trigger '{trigger.source}' skipped"
    )


def _recorded(store: StateStore, name: str, trigger: Trigger, skip: TriggerSkipped, now: datetime) -> TriggerSkipped:
    """Record the skipped trigger; returns ``skip`` for the caller to raise."""
    record = Skip(
        execution_name=name,
        skipped_at=format_time(now),
        code=skip.code,
        error=type(skip).__name__,
        reason=str(skip),
        until=skip.until,
        trigger_source=trigger.source,
        trigger_detail=trigger.detail,
    )
    store.record_skip(record, now=now)
    logger.warning("retraining trigger skipped", extra={"execution_name": name, "code": skip.code, "reason": str(skip)})
    return skip


def _new_run(env: GuardEnv, name: str, trigger: Trigger, now: datetime, lock: Lock) -> Run:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return Run(
        execution_name=name,
        # Also the pipeline execution's display name: [a-zA-Z0-9-], at most 82 characters.
        run_id=f"retrain-{now:%Y%m%dT%H%M%SZ}-{digest}",
        started_at=format_time(now),
        trigger_source=trigger.source,
        trigger_detail=trigger.detail,
        window_start=events.format_window_time(now - timedelta(days=env.training_window_days)),
        window_end=events.format_window_time(now),
        lock_taken_over_from=lock.owner,
    )


def _human(stamp: str) -> str:
    """``2026-03-01T12:00:00Z`` from the state table's microsecond text (messages stay short)."""
    return stamp[:19] + "Z" if len(stamp) >= 19 else stamp or "unknown"


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return guard(event, env=guard_env(), aws=clients(), now=request_time(event))

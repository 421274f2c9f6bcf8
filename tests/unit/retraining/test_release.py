"""release: only the owner frees the lock; the outcome is recorded once; it never fails the state machine."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from lambdas.retraining.errors import MalformedRequest, RetrainingInProgress
from lambdas.retraining.guard import guard
from lambdas.retraining.release import release
from lambdas.retraining.state import WaitKind
from tests.unit.retraining.conftest import T0, World


def run_guard(world: World, name: str) -> dict[str, Any]:
    return guard(
        {"execution_name": name, "trigger": {"source": "manual"}}, env=world.guard_env(), aws=world.aws, now=T0
    )


def run_release(world: World, name: str, outcome: str, **extra: Any) -> dict[str, Any]:
    event = {"execution_name": name, "outcome": outcome, **extra}
    return release(event, env=world.state_env(), aws=world.aws, now=T0 + timedelta(hours=3))


def test_the_owner_releases_and_records_the_outcome(world: World) -> None:
    run_guard(world, "exec-1")

    result = run_release(world, "exec-1", "promoted", reason="version 7 serves")

    assert result == {
        "execution_name": "exec-1",
        "released": True,
        "lock_owner": None,
        "outcome": "promoted",
        "recorded": True,
        "tokens_cleared": 0,
    }
    lock = world.items("LOCK")[0]
    assert "owner" not in lock
    assert (lock["released_by"], lock["released_at"]) == ("exec-1", "2026-03-01T15:00:00.000000Z")
    [run] = world.items("RUN#")
    assert (run["outcome"], run["outcome_reason"], run["finished_at"]) == (
        "promoted",
        "version 7 serves",
        "2026-03-01T15:00:00.000000Z",
    )


def test_release_is_idempotent_and_keeps_the_first_outcome(world: World) -> None:
    run_guard(world, "exec-1")
    run_release(world, "exec-1", "not_better")

    again = run_release(world, "exec-1", "failed")

    assert (again["released"], again["lock_owner"], again["outcome"], again["recorded"]) == (
        False,
        None,
        "not_better",
        False,
    )
    assert world.items("RUN#")[0]["outcome"] == "not_better"


def test_a_skipped_execution_leaves_the_owners_lock_alone(world: World) -> None:
    run_guard(world, "exec-1")
    with pytest.raises(RetrainingInProgress) as skipped:
        run_guard(world, "exec-2")
    error = {"Error": "RetrainingInProgress", "Cause": json.dumps({"errorMessage": str(skipped.value)})}

    result = run_release(world, "exec-2", "skipped", error=error)

    assert (result["released"], result["lock_owner"], result["recorded"]) == (False, "exec-1", True)
    assert world.store().lock().owner == "exec-1"
    [skip] = world.items("SKIP#")
    assert skip["outcome"] == "skipped"
    assert skip["outcome_reason"].startswith("RetrainingInProgress: retraining of fraud-detection/dev already")


def test_releasing_an_unknown_execution_does_not_raise(world: World) -> None:
    result = run_release(world, "exec-never-guarded", "failed", error={"Error": "MalformedRequest", "Cause": "x"})

    assert (result["released"], result["outcome"], result["recorded"]) == (False, None, False)


def test_release_deletes_the_executions_pending_tokens(world: World) -> None:
    run_guard(world, "exec-1")
    store = world.store()
    pipeline = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-detection-dev-training/execution/abc"
    store.put_token(WaitKind.PIPELINE, pipeline, task_token="t1", execution_name="exec-1", now=T0, ttl=timedelta(1))
    store.put_token(WaitKind.APPROVAL, "arn:pkg/1", task_token="t2", execution_name="exec-9", now=T0, ttl=timedelta(1))

    result = run_release(world, "exec-1", "failed", error={"Error": "States.Timeout", "Cause": ""})

    assert result["tokens_cleared"] == 1
    assert [t["task_token"] for t in world.items("TOKEN#")] == ["t2"]


def test_an_unknown_outcome_is_malformed(world: World) -> None:
    with pytest.raises(MalformedRequest, match=re.escape("outcome: 'done' is not one of promoted|not_better|")):
        run_release(world, "exec-1", "done")

"""guard: single flight, pause, cooldown, budget, stale-lock takeover; skips are recorded with why."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from lambdas.retraining.errors import BudgetExhausted, CooldownActive, RetrainingInProgress, RetrainingPaused
from lambdas.retraining.events import format_time
from lambdas.retraining.guard import guard
from lambdas.retraining.release import release
from lambdas.retraining.state import Lock, LockContended, Run
from tests.unit.retraining.conftest import T0, World


def run_guard(world: World, name: str, at: timedelta = timedelta(0), **env: Any) -> dict[str, Any]:
    event = {"execution_name": name, "trigger": {"source": "alarm", "detail": {"alarm": "fraud-drift"}}}
    return guard(event, env=world.guard_env(**env), aws=world.aws, now=T0 + at)


def finish(world: World, name: str, at: timedelta, outcome: str = "not_better") -> None:
    release({"execution_name": name, "outcome": outcome}, env=world.state_env(), aws=world.aws, now=T0 + at)


def test_a_first_trigger_starts_a_run_with_the_training_window(world: World) -> None:
    result = run_guard(world, "exec-1")

    assert result == {
        "execution_name": "exec-1",
        "run_id": result["run_id"],
        "window_start": "2026-01-30T12:00:00.000Z",  # TRAINING_WINDOW_DAYS=30 ending now
        "window_end": "2026-03-01T12:00:00.000Z",
        "started_at": "2026-03-01T12:00:00.000000Z",
    }
    assert result["run_id"].startswith("retrain-20260301T120000Z-")
    lock = world.store().lock()
    assert (lock.owner, lock.generation) == ("exec-1", 1)
    assert lock.stale_after == "2026-03-05T00:00:00.000000Z"  # pipeline 12 h + approval 72 h
    [run] = world.items("RUN#")
    assert run["trigger_source"] == "alarm"
    assert run["trigger_detail"] == '{"alarm":"fraud-drift"}'


def test_a_second_trigger_while_locked_is_skipped_and_recorded(world: World) -> None:
    run_guard(world, "exec-1")

    with pytest.raises(RetrainingInProgress, match="execution 'exec-1' holds the lock since 2026-03-01T12:00:00Z"):
        run_guard(world, "exec-2", timedelta(minutes=5))

    [skip] = world.items("SKIP#")
    assert skip["execution_name"] == "exec-2"
    assert skip["code"] == "in_progress"
    assert skip["error"] == "RetrainingInProgress"
    assert "exec-1" in skip["reason"]
    assert int(skip["expires_at"]) > int((T0 + timedelta(days=89)).timestamp())
    assert world.store().lock().owner == "exec-1"
    assert len(world.items("RUN#")) == 1


def test_guard_is_idempotent_for_its_execution(world: World) -> None:
    first = run_guard(world, "exec-1")
    with pytest.raises(RetrainingInProgress) as skipped:
        run_guard(world, "exec-2")

    # Lambda retries of the same executions, later.
    assert run_guard(world, "exec-1", timedelta(minutes=3)) == first
    with pytest.raises(RetrainingInProgress) as again:
        run_guard(world, "exec-2", timedelta(minutes=3))

    assert str(again.value) == str(skipped.value)
    assert len(world.items("RUN#")) == 1
    assert len(world.items("SKIP#")) == 1
    assert world.store().lock().generation == 1


def test_cooldown_counts_from_the_end_of_the_last_run(world: World) -> None:
    run_guard(world, "exec-1")
    finish(world, "exec-1", timedelta(hours=2))

    with pytest.raises(CooldownActive, match="active until 2026-03-02T14:00:00Z") as cooling:
        run_guard(world, "exec-2", timedelta(hours=20))
    assert cooling.value.until == "2026-03-02T14:00:00.000000Z"
    assert "'exec-1' finished (not_better) at 2026-03-01T14:00:00Z" in str(cooling.value)

    assert run_guard(world, "exec-3", timedelta(hours=26, minutes=1))["execution_name"] == "exec-3"
    assert [s["code"] for s in world.items("SKIP#")] == ["cooldown"]


def test_the_budget_limits_runs_per_period(world: World) -> None:
    no_cooldown = {"policy": {"cooldown_hours": 0}}
    for index, hours in enumerate((0, 24, 48)):
        run_guard(world, f"exec-{index}", timedelta(hours=hours), **no_cooldown)
        finish(world, f"exec-{index}", timedelta(hours=hours + 1))

    with pytest.raises(BudgetExhausted, match="3 runs started in the last 7 day") as exhausted:
        run_guard(world, "exec-4", timedelta(hours=72), **no_cooldown)
    assert "next run is possible after 2026-03-08T12:00:00Z" in str(exhausted.value)

    # Once the oldest run leaves the 7-day window, the budget has room again.
    assert run_guard(world, "exec-5", timedelta(days=7, minutes=1), **no_cooldown)["execution_name"] == "exec-5"


def test_a_paused_model_skips_every_trigger_until_resumed(world: World) -> None:
    world.store().pause(by="alice@example.com", reason="label backfill running", now=T0 - timedelta(hours=1))

    with pytest.raises(RetrainingPaused, match=re.escape("by alice@example.com: label backfill running")):
        run_guard(world, "exec-1")
    assert world.items("SKIP#")[0]["code"] == "paused"
    assert world.store().lock().owner == ""

    world.store().resume()
    assert run_guard(world, "exec-2", timedelta(minutes=1))["execution_name"] == "exec-2"


def test_a_stale_lock_is_taken_over_and_its_run_closed(world: World) -> None:
    run_guard(world, "exec-1")  # never releases (its state machine died)

    with pytest.raises(RetrainingInProgress):
        run_guard(world, "exec-2", timedelta(hours=83))  # 12 h + 72 h not yet over
    result = run_guard(world, "exec-3", timedelta(hours=84, minutes=1))

    lock = world.store().lock()
    assert (lock.owner, lock.generation) == ("exec-3", 2)
    runs = {run["execution_name"]: run for run in world.items("RUN#")}
    assert runs["exec-3"]["lock_taken_over_from"] == "exec-1"
    assert runs["exec-1"]["outcome"] == "failed"
    assert result["run_id"] in runs["exec-1"]["outcome_reason"]
    assert world.items("LOCK")[0]["taken_over_from"] == "exec-1"


def test_acquisition_fails_when_another_guard_moved_the_lock_first(world: World) -> None:
    """The lock write is conditional on the generation read, so cooldown and budget checks cannot go stale."""
    store = world.store()
    seen = store.lock()
    run_guard(world, "exec-1")  # wins between our read and our write
    finish(world, "exec-1", timedelta(minutes=1))

    late = Run(execution_name="exec-2", run_id="r2", started_at=format_time(T0), trigger_source="manual")
    with pytest.raises(LockContended):
        store.start_run(late, seen=seen, now=T0, stale_after=T0 + timedelta(hours=1))
    with pytest.raises(LockContended):
        store.start_run(late, seen=Lock(owner="", generation=7), now=T0, stale_after=T0 + timedelta(hours=1))
    assert [run["execution_name"] for run in world.items("RUN#")] == ["exec-1"]

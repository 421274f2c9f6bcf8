"""The skipped path: a trigger the guard turns away (cooldown active, another run holding the lock) ends the run
Succeeded as "skipped", records the skip with why, tells the owner, and changes nothing: no pipeline execution,
no deployment, the serving pointer, endpoint and history as they were, the lock left to its holder.
"""

from __future__ import annotations

from tests.integration.retraining.checks import (
    assert_lock_released,
    assert_nothing_deployed,
    assert_run_recorded,
)
from tests.integration.retraining.test_state_machine import ending
from tests.support.sfn_offline import RetrainingWorld

SKIPPED = ["SettingsGiven?", "Init", "Guard", *ending("skipped")]


def skip_record(world: RetrainingWorld, execution_name: str) -> dict[str, object]:
    [record] = [r for r in world.state_items("SKIP#") if r["execution_name"] == execution_name]
    return record


def test_a_trigger_during_the_cooldown_is_skipped(world: RetrainingWorld) -> None:
    world.outputs.not_better()
    assert world.run("first")["status"] == "SUCCEEDED"
    world.notifications()  # the first run's message
    cooldown_hours = world.resolved.environment.retraining.cooldown_hours

    described = world.run("second")

    assert described["status"] == "SUCCEEDED"
    assert world.states(described["executionArn"]) == SKIPPED
    skip = skip_record(world, "second")
    assert (skip["code"], skip["error"], skip["outcome"]) == ("cooldown", "CooldownActive", "skipped")
    assert "'first' finished (not_better)" in str(skip["reason"]), skip
    assert f"the cooldown is {cooldown_hours} h" in str(skip["reason"]), skip
    assert str(skip["until"]) > str(skip["skipped_at"]), skip
    [message] = world.notifications()
    assert message["subject"].endswith("Retraining skipped: cooldown active"), message
    assert "'first' finished (not_better)" in str(message["message"]), message
    # Nothing else happened: the first run's pipeline execution, record and lock release are all there is.
    assert len(world.pipeline_executions) == 1
    assert [r["execution_name"] for r in world.state_items("RUN#")] == ["first"]
    assert_run_recorded(world, "first", "not_better")
    assert_lock_released(world, "first")
    assert_nothing_deployed(world)


def test_a_trigger_while_another_run_holds_the_lock_is_skipped(world: RetrainingWorld) -> None:
    world.outputs.not_better()
    world.outputs.status = "Executing"  # the holder waits for its pipeline's status event
    holder = world.start("holder")
    world.wait_for(lambda: world.state_items("TOKEN#PIPELINE#"), holder)

    described = world.run("latecomer")

    assert described["status"] == "SUCCEEDED"
    assert world.states(described["executionArn"]) == SKIPPED
    skip = skip_record(world, "latecomer")
    assert (skip["code"], skip["error"], skip["outcome"]) == ("in_progress", "RetrainingInProgress", "skipped")
    assert "execution 'holder' holds the lock" in str(skip["reason"]), skip
    assert world.lock()["owner"] == "holder"  # the skipped run's release left the holder's lock alone
    [message] = world.notifications()
    assert message["subject"].endswith("Retraining skipped: another run is in progress"), message
    assert len(world.pipeline_executions) == 1
    assert [r["execution_name"] for r in world.state_items("RUN#")] == ["holder"]
    assert world.client("stepfunctions").describe_execution(executionArn=holder)["status"] == "RUNNING"

    # The holder is undisturbed: its pipeline ends, it finishes and releases its own lock.
    [pipeline] = world.pipeline_executions
    [callback] = world.finish_pipeline(pipeline)
    assert callback["delivered"] is True, callback
    assert world.wait(holder)["status"] == "SUCCEEDED"
    assert_run_recorded(world, "holder", "not_better")
    assert_lock_released(world, "holder")
    assert_nothing_deployed(world)

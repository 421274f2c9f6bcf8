"""Rollbacks that must put the serving pointer back (it had moved to the candidate), and proof that the checks
fail when a rollback does not.

- In the loop: Promote moves the pointer, then fails (AddTags refused); the state machine's Catch rolls back,
  which must restore the endpoint AND the pointer.
- On call: after a promoted run, ``python -m tools.mlops_cli rollback`` restores the version the champion
  replaced: pointer, endpoint, the champion tag and the champion record.
- The same loop scenario with a test-only mutation of the rollback logic (it does not write the pointer) makes
  the scenario's checks fail on the pointer.
"""

from __future__ import annotations

import pytest

from lambdas.deployment import rollback as rollback_step
from tests.integration.retraining.checks import (
    assert_lock_released,
    assert_notified,
    assert_promoted,
    assert_rolled_back,
    assert_run_recorded,
    assert_serving,
    champion_record,
    deployments,
)
from tests.integration.retraining.test_state_machine import DEPLOY, HEAD, ending
from tests.support.sfn_offline import RetrainingWorld


def _promotion_fails_after_moving_the_pointer(world: RetrainingWorld, name: str) -> str:
    """Run a promotion whose AddTags (the champion tag) is refused after the pointer was written; the candidate."""
    world.sagemaker.denied.add("add_tags")
    described = world.run(name)
    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    states = world.states(described["executionArn"])
    assert states == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY, "Promote", "Rollback", *ending("rolled_back")]
    [pipeline] = world.pipeline_executions
    return world.candidates[pipeline]


def test_a_promotion_that_fails_after_moving_the_pointer_is_rolled_back(world: RetrainingWorld) -> None:
    candidate = _promotion_fails_after_moving_the_pointer(world, "manual-promote-denied")

    assert world.pointer_history() == [world.champion, candidate, world.champion]  # moved, then put back
    assert_rolled_back(world, "manual-promote-denied", candidate, reason="AccessDeniedException")
    assert_run_recorded(world, "manual-promote-denied", "rolled_back", reason="AccessDeniedException")
    assert_lock_released(world, "manual-promote-denied")
    assert_notified(world, "rolled_back")


def test_the_checks_fail_when_the_rollback_leaves_the_pointer(
    world: RetrainingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test-only mutation of the rollback logic: it restores the endpoint but never writes the pointer.
    monkeypatch.setattr(rollback_step, "write_pointer", lambda *_, **__: None)

    candidate = _promotion_fails_after_moving_the_pointer(world, "manual-mutant")

    with pytest.raises(AssertionError, match=f"the serving pointer names {candidate}"):
        assert_rolled_back(world, "manual-mutant", candidate, reason="AccessDeniedException")
    assert world.pointer_history() == [world.champion, candidate]


def test_the_on_call_rollback_restores_the_champion_a_run_replaced(world: RetrainingWorld) -> None:
    assert world.run("manual-promote")["status"] == "SUCCEEDED"
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    assert_promoted(world, "manual-promote", candidate)

    code, out, err = world.cli("rollback", "--reason", "drill")

    assert code == 0, err
    assert world.champion in out
    assert world.pointer_history() == [world.champion, candidate, world.champion]
    assert_serving(world, world.champion, config=world.resolved.initial_config)
    [deployment] = deployments(world)
    assert (deployment["status"], deployment["outcome"]) == ("rolled_back", "rolled_back")
    assert deployment["reason"].startswith("drill (requested by "), deployment["reason"]
    champion = champion_record(world)
    assert champion is not None
    assert champion["current_model_package_arn"] == world.champion
    assert champion["current_endpoint_config_name"] == world.resolved.initial_config
    assert "current_deployment_id" not in champion  # the bootstrap's version again
    assert champion["updated_by"] == "manual-promote"
    assert world.champion_tagged() == [world.champion]
    assert world.current_baselines_of() == {world.champion}

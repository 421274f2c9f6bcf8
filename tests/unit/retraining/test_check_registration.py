"""check_registration: decision.json says why; the registered package is the one this execution created."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.retraining.check_registration import check_registration
from lambdas.retraining.errors import CandidateNotFound, DecisionMissing, PipelineFailed, PipelineNotFinished
from tests.unit.retraining.conftest import PIPELINE, World

REGISTER = {
    "register": True,
    "code": "registered_beats_champion",
    "reason": "candidate pr_auc 0.74 >= champion 0.70 + 0.01",
}
NOT_BETTER = {
    "register": False,
    "code": "not_better_than_champion",
    "reason": "candidate pr_auc 0.705 < champion 0.70 + min improvement 0.01",
    "inputs": {"objective": "pr_auc", "candidate": 0.705, "champion": 0.7},
}


def check(world: World, arn: str) -> dict[str, Any]:
    return check_registration(
        {"pipeline_execution_arn": arn, "run_id": "ignored"}, env=world.registration_env(), aws=world.aws
    )


def execution_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def test_the_package_named_by_the_execution_is_the_candidate(world: World) -> None:
    earlier = world.register(generated_by=f"{PIPELINE}/older")  # before this execution started
    arn = world.start_execution()
    mine = world.register(
        generated_by=f"{PIPELINE}/{execution_id(arn)}", customer={"pipeline_execution_id": execution_id(arn)}
    )
    world.register(generated_by=f"{PIPELINE}/someone-else")  # newer, from another execution
    world.put_decision(arn, REGISTER)

    result = check(world, arn)

    assert result == {
        "pipeline_execution_arn": arn,
        "registered": True,
        "model_package_arn": mine,
        "code": "registered_beats_champion",
        "reason": REGISTER["reason"],
    }
    assert earlier != mine


def test_the_execution_arn_in_generated_by_identifies_it_too(world: World) -> None:
    arn = world.start_execution()
    mine = world.register(generated_by=arn)
    world.put_decision(arn, REGISTER)

    assert check(world, arn)["model_package_arn"] == mine


def test_without_metadata_the_newest_pending_package_since_the_start_is_taken(world: World) -> None:
    arn = world.start_execution()
    world.register(status="Approved")  # not waiting for approval
    world.register(generated_by=f"{PIPELINE}/another-execution")  # names another execution
    mine = world.register()  # a registry that returned no metadata
    world.put_decision(arn, REGISTER)

    assert check(world, arn)["model_package_arn"] == mine


def test_not_better_returns_the_decisions_reason(world: World) -> None:
    arn = world.start_execution()
    world.put_decision(arn, NOT_BETTER)

    result = check(world, arn)

    assert result["registered"] is False
    assert result["model_package_arn"] is None
    assert result["code"] == "not_better_than_champion"
    assert result["reason"] == NOT_BETTER["reason"]


def test_a_succeeded_execution_without_decision_is_an_error(world: World) -> None:
    arn = world.start_execution()

    with pytest.raises(DecisionMissing, match=r"Succeeded but wrote no decision \(s3://.*/decision/decision.json"):
        check(world, arn)


@pytest.mark.parametrize("body", ["not json", '{"register": "yes", "code": "x", "reason": "y"}', "[]"])
def test_an_unreadable_decision_is_an_error(world: World, body: str) -> None:
    arn = world.start_execution()
    world.put_decision(arn, body)

    with pytest.raises(DecisionMissing):
        check(world, arn)


def test_register_without_a_package_from_the_execution_is_an_error(world: World) -> None:
    arn = world.start_execution()
    world.register(generated_by=f"{PIPELINE}/another-execution")
    world.put_decision(arn, REGISTER)

    with pytest.raises(CandidateNotFound, match="registered_beats_champion"):
        check(world, arn)


def test_a_running_or_failed_execution_has_no_registration(world: World) -> None:
    running, failed = world.start_execution(), world.start_execution()
    world.sagemaker.statuses[running] = ("Executing", "")
    world.sagemaker.statuses[failed] = ("Failed", "Step Evaluate failed")

    with pytest.raises(PipelineNotFinished):
        check(world, running)
    with pytest.raises(PipelineFailed, match="Step Evaluate failed"):
        check(world, failed)

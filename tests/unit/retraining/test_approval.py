"""approval (auto / manual) and approval_callback: the registry's decision completes the wait."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.retraining.approval import approval
from lambdas.retraining.approval_callback import approval_callback
from lambdas.retraining.errors import CandidateRejected, MalformedRequest, PackageNotInGroup
from tests.unit.retraining.conftest import GROUP, T0, World


def approve(world: World, arn: str, mode: str, **extra: Any) -> dict[str, Any]:
    event = {"model_package_arn": arn, "execution_name": "exec-1", "run_id": "retrain-20260301T120000Z-abc123"}
    return approval({**event, **extra}, env=world.approval_env(mode), aws=world.aws, now=T0)


def state_change(arn: str, status: str, group: str = GROUP, **detail: Any) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
            "ModelPackageStatus": "Completed",
            **detail,
        },
    }


def callback(world: World, event: dict[str, Any]) -> dict[str, Any]:
    return approval_callback(event, env=world.approval_env("manual"), aws=world.aws, now=T0)


def package(world: World, arn: str) -> dict[str, Any]:
    described: dict[str, Any] = world.aws.sagemaker.describe_model_package(ModelPackageName=arn)
    return described


# ---- auto ----


def test_auto_mode_approves_with_the_run_in_the_description(world: World) -> None:
    arn = world.register()

    result = approve(world, arn, "auto")

    assert result == {"model_package_arn": arn, "approval_mode": "auto", "approved": True, "status": "Approved"}
    described = package(world, arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert "retraining run retrain-20260301T120000Z-abc123" in described["ApprovalDescription"]
    assert "exec-1" in described["ApprovalDescription"]


def test_auto_approval_is_idempotent(world: World) -> None:
    arn = world.register()

    approve(world, arn, "auto")
    approve(world, arn, "auto")

    assert len(world.sagemaker.mutations("update_model_package")) == 1


def test_auto_mode_does_not_override_a_rejection(world: World) -> None:
    arn = world.register()
    world.aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="bias review failed"
    )

    with pytest.raises(CandidateRejected, match="bias review failed"):
        approve(world, arn, "auto")


def test_auto_mode_completes_a_token_when_invoked_as_a_wait(world: World) -> None:
    arn = world.register()

    approve(world, arn, "auto", task_token="token-auto")

    assert world.sfn.successes() == [("token-auto", {"approved": True, "model_package_arn": arn})]


def test_a_package_of_another_group_is_refused(world: World) -> None:
    world.aws.sagemaker.create_model_package_group(ModelPackageGroupName="other-model-dev")
    arn = world.register(group="other-model-dev")

    with pytest.raises(PackageNotInGroup):
        approve(world, arn, "auto")


# ---- manual ----


def test_manual_mode_stores_the_token_and_waits(world: World) -> None:
    arn = world.register()

    result = approve(world, arn, "manual", task_token="token-1")

    assert result["approved"] is None
    assert (result["status"], result["completed"]) == ("PendingManualApproval", False)
    [token] = world.items("TOKEN#APPROVAL#")
    assert (token["sk"], token["task_token"], token["execution_name"]) == (f"TOKEN#APPROVAL#{arn}", "token-1", "exec-1")
    assert int(token["expires_at"]) == int(T0.timestamp()) + (72 + 24) * 3600
    assert world.sfn.calls == []
    assert package(world, arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_manual_mode_needs_a_task_token(world: World) -> None:
    with pytest.raises(MalformedRequest, match="waitForTaskToken"):
        approve(world, world.register(), "manual")


def test_an_approval_in_the_registry_completes_the_wait(world: World) -> None:
    arn = world.register()
    approve(world, arn, "manual", task_token="token-1")

    result = callback(world, state_change(arn, "Approved", ApprovalDescription="looks good - bob"))

    assert (result["handled"], result["delivered"]) == (True, True)
    assert world.sfn.successes() == [
        ("token-1", {"approved": True, "model_package_arn": arn, "approval_description": "looks good - bob"})
    ]
    assert world.items("TOKEN#") == []
    assert callback(world, state_change(arn, "Approved"))["handled"] is False  # repeated event


def test_a_rejection_fails_the_wait_with_its_description(world: World) -> None:
    arn = world.register()
    approve(world, arn, "manual", task_token="token-1")
    world.aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="recall on new merchants too low"
    )

    callback(world, state_change(arn, "Rejected"))  # no description in the event: read from the registry

    [(token, error, cause)] = world.sfn.failures()
    assert (token, error) == ("token-1", "CandidateRejected")
    assert cause == f"model package {arn} was rejected in the registry: recall on new merchants too low"


def test_a_decision_made_before_the_wait_began_completes_it(world: World) -> None:
    arn = world.register()
    world.aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    result = approve(world, arn, "manual", task_token="token-1")

    assert result["completed"] is True
    assert world.sfn.successes() == [("token-1", {"approved": True, "model_package_arn": arn})]


def test_events_nobody_waits_for_are_ignored(world: World) -> None:
    arn = world.register()
    approve(world, arn, "manual", task_token="token-1")

    other_group = callback(world, state_change(arn, "Approved", group="other-model-dev"))
    pending = callback(world, state_change(arn, "PendingManualApproval"))
    not_waiting = callback(world, state_change(world.register(), "Approved"))

    assert [r["handled"] for r in (other_group, pending, not_waiting)] == [False, False, False]
    assert world.sfn.calls == []

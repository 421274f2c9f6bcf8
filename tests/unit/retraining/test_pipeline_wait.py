"""register_wait + pipeline_callback: the pipeline wait is completed once, with the right token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lambdas.retraining.errors import MalformedRequest
from lambdas.retraining.pipeline_callback import pipeline_callback
from lambdas.retraining.register_wait import register_wait
from lambdas.retraining.state import WaitKind
from tests.unit.retraining.conftest import T0, World


def wait(world: World, arn: str, token: str, name: str = "exec-1") -> dict[str, Any]:
    event = {"task_token": token, "pipeline_execution_arn": arn, "execution_name": name}
    return register_wait(event, env=world.wait_env(), aws=world.aws, now=T0)


def status_event(arn: str, status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
        "detail": {
            "pipelineArn": arn.split("/execution/", maxsplit=1)[0],
            "pipelineExecutionArn": arn,
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": "Executing",
        },
    }


def callback(world: World, event: dict[str, Any]) -> dict[str, Any]:
    return pipeline_callback(event, env=world.state_env(), aws=world.aws, now=T0 + timedelta(hours=2))


@pytest.fixture
def running(world: World) -> tuple[str, str]:
    """Two executions still running, each with a stored wait token."""
    arns = (world.start_execution(), world.start_execution())
    for index, arn in enumerate(arns):
        world.sagemaker.statuses[arn] = ("Executing", "")
        assert wait(world, arn, f"token-{index}", name=f"exec-{index}")["completed"] is False
    return arns


def test_the_token_is_stored_while_the_pipeline_runs(world: World, running: tuple[str, str]) -> None:
    tokens = world.items("TOKEN#PIPELINE#")

    assert [(t["sk"], t["task_token"], t["execution_name"]) for t in tokens] == sorted(
        [(f"TOKEN#PIPELINE#{running[0]}", "token-0", "exec-0"), (f"TOKEN#PIPELINE#{running[1]}", "token-1", "exec-1")]
    )
    assert int(tokens[0]["expires_at"]) == int((T0 + timedelta(hours=12 + 24)).timestamp())
    assert world.sfn.calls == []


def test_success_completes_the_executions_own_token(world: World, running: tuple[str, str]) -> None:
    result = callback(world, status_event(running[1], "Succeeded"))

    assert result["handled"] is True
    assert result["delivered"] is True
    assert world.sfn.successes() == [("token-1", {"status": "Succeeded", "pipeline_execution_arn": running[1]})]
    assert [t["task_token"] for t in world.items("TOKEN#")] == ["token-0"]


def test_failure_sends_pipeline_failed_with_the_reason(world: World, running: tuple[str, str]) -> None:
    world.sagemaker.statuses[running[0]] = ("Failed", "Step Train failed: AlgorithmError: out of memory")

    callback(world, status_event(running[0], "Failed"))

    [(token, error, cause)] = world.sfn.failures()
    assert (token, error) == ("token-0", "PipelineFailed")
    assert cause == f"pipeline execution {running[0]} ended Failed: Step Train failed: AlgorithmError: out of memory"


def test_a_stopped_execution_fails_the_wait_too(world: World, running: tuple[str, str]) -> None:
    world.sagemaker.statuses[running[0]] = ("Stopped", "")

    callback(world, status_event(running[0], "Stopped"))

    [(_, error, cause)] = world.sfn.failures()
    assert error == "PipelineFailed"
    assert "ended Stopped: SageMaker gave no failure reason" in cause


def test_a_repeated_event_does_nothing(world: World, running: tuple[str, str]) -> None:
    callback(world, status_event(running[1], "Succeeded"))

    again = callback(world, status_event(running[1], "Succeeded"))

    assert again["handled"] is False
    assert len(world.sfn.calls) == 1


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_a_token_step_functions_no_longer_accepts_is_dropped(world: World, running: tuple[str, str], code: str) -> None:
    world.sfn.gone["token-1"] = code

    result = callback(world, status_event(running[1], "Succeeded"))

    assert (result["handled"], result["delivered"]) == (True, False)
    assert [t["task_token"] for t in world.items("TOKEN#")] == ["token-0"]


def test_non_terminal_statuses_and_unknown_executions_are_ignored(world: World, running: tuple[str, str]) -> None:
    executing = callback(world, status_event(running[0], "Executing"))
    unknown = callback(world, status_event(world.start_execution(), "Succeeded"))

    assert executing == {
        "pipeline_execution_arn": running[0],
        "status": "Executing",
        "handled": False,
        "delivered": False,
        "reason": "status Executing is not terminal",
    }
    assert unknown["handled"] is False
    assert unknown["reason"] == "no pending wait for this execution"
    assert world.sfn.calls == []


def test_the_wait_completes_itself_when_the_pipeline_already_finished(world: World) -> None:
    """The status event came before the token was stored (or was lost): register_wait's own check."""
    arn = world.start_execution()  # moto: Succeeded at once

    result = wait(world, arn, "token-early")

    assert result == {"pipeline_execution_arn": arn, "status": "Succeeded", "completed": True}
    assert world.sfn.successes() == [("token-early", {"status": "Succeeded", "pipeline_execution_arn": arn})]
    assert world.items("TOKEN#") == []
    assert callback(world, status_event(arn, "Succeeded"))["handled"] is False  # the late event


def test_a_failed_pipeline_before_the_wait_fails_it(world: World) -> None:
    arn = world.start_execution()
    world.sagemaker.statuses[arn] = ("Failed", "Step Dataset failed: no labels in window")

    wait(world, arn, "token-early")

    [(_, error, cause)] = world.sfn.failures()
    assert error == "PipelineFailed"
    assert "no labels in window" in cause


def test_a_retried_wait_replaces_the_token(world: World, running: tuple[str, str]) -> None:
    wait(world, running[0], "token-0-retry", name="exec-0")

    callback(world, status_event(running[0], "Succeeded"))

    assert [token for token, _ in world.sfn.successes()] == ["token-0-retry"]


def test_the_wait_needs_a_token_and_an_existing_execution(world: World) -> None:
    arn = world.start_execution()
    with pytest.raises(MalformedRequest, match="task_token"):
        register_wait(
            {"pipeline_execution_arn": arn, "execution_name": "e"}, env=world.wait_env(), aws=world.aws, now=T0
        )
    with pytest.raises(MalformedRequest, match="no pipeline execution"):
        wait(world, arn[:-4] + "zzzz", "token")


def test_using_an_old_token_does_not_delete_a_newer_one(world: World, running: tuple[str, str]) -> None:
    """A retried wait stored a new token after the callback read the old one: the new one stays pending."""
    store = world.store()
    old = store.token(WaitKind.PIPELINE, running[0])
    assert old is not None
    wait(world, running[0], "token-0-retry", name="exec-0")

    store.delete_token(old)

    newer = store.token(WaitKind.PIPELINE, running[0])
    assert newer is not None
    assert newer.task_token == "token-0-retry"

"""The synthesized DEV retraining state machine (blue_green, auto approval), executed by moto's Step Functions
interpreter with the real retraining and deployment handlers in-process (tests/support/sfn_offline.py).

Each scenario asserts on the execution history (the states entered) and on the AWS state it leaves: the
serving pointer against the endpoint's model, the lock in the state table, the owner's notification.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from lambdas.retraining import trigger
from tests.support.sfn_offline import Resolved, RetrainingWorld, retraining_world, with_state_fields

HEAD = ["SettingsGiven?", "Init", "Guard", "StartPipeline", "WaitForPipeline"]
DEPLOY = ["Approval", "Prepare", "Deploy", "Verify", "Bake", "Compare", "CandidateHealthy?"]


def ending(outcome: str) -> list[str]:
    return [f"Outcome-{outcome}", f"Notify-{outcome}", f"Release-{outcome}", f"End-{outcome}"]


def dedupe(states: list[str]) -> list[str]:
    """States entered, with re-entries by Retry collapsed (Retry re-runs a state without re-entering it)."""
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def assert_lock_released(world: RetrainingWorld, execution_name: str) -> None:
    lock = world.lock()
    assert lock, "the guard never took the lock"
    assert "owner" not in lock, lock
    assert lock["released_by"] == execution_name


def assert_notified(world: RetrainingWorld, outcome: str) -> dict[str, Any]:
    messages = world.notifications()
    assert len(messages) == 1, messages
    text = f"{messages[0]['subject']} {messages[0]['message']}".lower()
    assert outcome.replace("_", " ") in text or outcome in text, messages[0]
    return messages[0]


def test_better_candidate_is_promoted(world: RetrainingWorld) -> None:
    described = world.run("manual-promote")
    states = world.states(described["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY, "Promote", *ending("promoted")]
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    assert world.pointer() == candidate == world.serving_package()
    assert candidate != world.champion
    assert_lock_released(world, "manual-promote")
    assert_notified(world, "promoted")
    # The endpoint was still Updating when Verify first ran: EndpointNotReady, retried after the definition's 60 s.
    verify = world.runtime.calls("fraud-detection-dev-verify")
    assert [c.error for c in verify] == ["EndpointNotReady", None]
    assert world.retry_sleeps == [60]


def test_candidate_not_better_ends_without_deploying(world: RetrainingWorld) -> None:
    world.outputs.register = False
    world.outputs.code = "not_better"
    world.outputs.reason = "candidate AUC 0.91 does not beat the champion's 0.92 by 0.01"

    described = world.run("manual-not-better")
    states = world.states(described["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *ending("not_better")]
    assert world.candidates == {}
    assert world.pointer() == world.champion == world.serving_package()
    assert world.sagemaker.mutations() == []
    assert_lock_released(world, "manual-not-better")
    assert_notified(world, "not_better")


def test_failed_pipeline_fails_the_run(world: RetrainingWorld) -> None:
    world.outputs.register = False
    world.outputs.status = "Failed"

    described = world.run("manual-pipeline-failed")
    arn = described["executionArn"]
    states = world.states(arn)

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingFailed"
    assert states == [*HEAD, *ending("failed")]
    failures = [e for e in world.history(arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["PipelineFailed"]
    assert world.pointer() == world.champion == world.serving_package()
    assert_lock_released(world, "manual-pipeline-failed")
    assert_notified(world, "failed")


def test_silent_rollback_is_detected_and_rolled_back(world: RetrainingWorld) -> None:
    world.sagemaker.outcomes = ["rollback"]  # an alarm fires: SageMaker ends InService on the OLD config

    described = world.run("manual-silent-rollback")
    states = world.states(described["executionArn"])

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY[:4], "Rollback", *ending("rolled_back")]
    assert [c.error for c in world.runtime.calls("fraud-detection-dev-verify")][-1] == "SilentRollbackDetected"
    assert world.pointer() == world.champion == world.serving_package()
    assert_lock_released(world, "manual-silent-rollback")
    assert_notified(world, "rolled_back")


def test_ten_identical_alarm_triggers_start_one_retraining(world: RetrainingWorld) -> None:
    world.outputs.register = False  # no deployment: the defaults' 5-minute bake never runs
    event = {
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "detail": {
            "alarmName": "fraud-detection-dev-feature-drift",
            "state": {"value": "ALARM", "reason": "drift", "timestamp": "2026-03-01T12:00:00.000+0000"},
        },
    }
    sfn = world.client("stepfunctions")
    results = [trigger.start(sfn, state_machine_arn=world.resolved.state_machine_arn, event=event) for _ in range(10)]

    assert [r["started"] for r in results] == [True] + [False] * 9
    assert all(r["duplicate"] for r in results[1:])
    assert len({r["execution_name"] for r in results}) == 1
    executions = sfn.list_executions(stateMachineArn=world.resolved.state_machine_arn)["executions"]
    assert len(executions) == 1
    described = world.wait(executions[0]["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert world.states(described["executionArn"])[1] == "InitWithDefaults"  # the trigger sends no settings
    assert len(world.pipeline_executions) == 1
    assert len(world.state_items("RUN#")) == 1
    assert_notified(world, "not_better")


MOTO_LAMBDA_ARN_TASK_ERRORS = (
    "moto 5.2.5 limitation: for a Task whose Resource is the Lambda ARN (every payload_response_only LambdaInvoke, "
    "e.g. Guard), moto names any Lambda service error 'Exception' (state_task_lambda.StateTaskLambda._from_error), "
    "not 'Lambda.ServiceException' as AWS does, so the definition's Retry on Lambda.ServiceException is not taken"
)


@pytest.mark.parametrize(
    "step",
    [
        "lambdas.retraining.register_wait",  # WaitForPipeline: the lambda:invoke service integration
        pytest.param(
            "lambdas.retraining.guard", marks=pytest.mark.xfail(reason=MOTO_LAMBDA_ARN_TASK_ERRORS, strict=True)
        ),
    ],
)
def test_transient_lambda_service_error_is_retried(world: RetrainingWorld, step: str) -> None:
    function = world.resolved.function(step).name
    world.runtime.service_errors[function] = 1  # Lambda answers ServiceException (HTTP 500) once
    world.outputs.register = False

    described = world.run("manual-transient")
    arn = described["executionArn"]

    assert described["status"] == "SUCCEEDED"
    assert dedupe(world.states(arn)) == [*HEAD, "CheckRegistration", "Registered?", *ending("not_better")]
    failed = [
        (e.get("taskFailedEventDetails") or e.get("lambdaFunctionFailedEventDetails") or {}).get("error")
        for e in world.history(arn)
        if e["type"] in ("TaskFailed", "LambdaFunctionFailed")
    ]
    assert failed == ["Lambda.ServiceException"]
    assert [c.error for c in world.runtime.calls(function)] == ["Lambda.ServiceException", None]
    assert world.retry_sleeps == [2]  # the definition's retry interval for Lambda service errors
    assert_lock_released(world, "manual-transient")


# ---- manual approval (a DEV variant: DEV itself approves automatically) ----------------------------------------


def _parked_at_approval(world: RetrainingWorld, execution_arn: str) -> str:
    """Wait until the run waits for the owner (approval stored its token); the candidate package's ARN."""
    approval = world.resolved.function("lambdas.retraining.approval")
    deadline = time.monotonic() + 15
    while not (world.state_items("TOKEN#APPROVAL#") and any(c.result for c in world.runtime.calls(approval.name))):
        assert time.monotonic() < deadline, world.states(execution_arn)
        time.sleep(0.02)
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    [token] = world.state_items("TOKEN#APPROVAL#")
    assert token["sk"] == f"TOKEN#APPROVAL#{candidate}"
    assert world.states(execution_arn)[-1] == "Approval"
    scheduled = [e for e in world.history(execution_arn) if e["type"] == "TaskScheduled"]
    assert json.loads(scheduled[-1]["taskScheduledEventDetails"]["parameters"])["FunctionName"] == approval.arn
    assert world.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    return candidate


def test_manual_rejection_ends_without_deploying(manual_world: RetrainingWorld) -> None:
    world = manual_world
    arn = world.start("manual-reject")
    candidate = _parked_at_approval(world, arn)

    result = world.decide_approval(candidate, "Rejected", "AUC gain is within noise")
    described = world.wait(arn)
    states = world.states(arn)

    assert result["handled"] is True, result
    assert result["delivered"] is True, result
    assert described["status"] == "SUCCEEDED"
    assert states == [*HEAD, "CheckRegistration", "Registered?", "Approval", *ending("rejected")]
    failures = [e for e in world.history(arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["CandidateRejected"]
    assert world.state_items("TOKEN#APPROVAL#") == []
    described_package = world.client("sagemaker").describe_model_package(ModelPackageName=candidate)
    assert described_package["ModelApprovalStatus"] == "Rejected"
    assert world.sagemaker.mutations() == []
    assert world.pointer() == world.champion == world.serving_package()
    assert_lock_released(world, "manual-reject")
    assert_notified(world, "rejected")


def test_manual_approval_deploys_and_promotes(manual_world: RetrainingWorld) -> None:
    world = manual_world
    arn = world.start("manual-approve")
    candidate = _parked_at_approval(world, arn)

    result = world.decide_approval(candidate, "Approved")
    described = world.wait(arn)

    assert result["handled"] is True, result
    assert result["delivered"] is True, result
    assert described["status"] == "SUCCEEDED"
    assert world.states(arn) == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY, "Promote", *ending("promoted")]
    assert world.pointer() == candidate == world.serving_package()
    assert_lock_released(world, "manual-approve")
    assert_notified(world, "promoted")


# ---- the deployment goes wrong ------------------------------------------------------------------------------------


def test_bake_regression_is_rolled_back(world: RetrainingWorld) -> None:
    # blue_green = guardrails: the champion's window ends when the deployment started, the candidate's at Compare.
    # As tests/unit/deployment/support.regressed_evidence: the candidate errs (5 % 5xx) and is slow (2.4x p99).
    world.cloudwatch.set("primary", invocations=5000, errors=2, p99_us=40_000)
    world.cloudwatch.set_after_update("primary", invocations=5000, errors=250, p99_us=95_000)
    # The run's Bake waits 0 s; Compare is told the bake's 5 minutes have passed, else both windows are the
    # deployment's start minute (windows are whole minutes) and cannot differ.
    world.runtime.clock_ahead["fraud-detection-dev-compare"] = timedelta(minutes=5)

    described = world.run("manual-bake-regression")
    arn = described["executionArn"]

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    assert world.states(arn) == [
        *HEAD,
        "CheckRegistration",
        "Registered?",
        *DEPLOY,
        "Regressed",
        "Rollback",
        *ending("rolled_back"),
    ]
    [comparison] = [c.result for c in world.runtime.calls("fraud-detection-dev-compare")]
    assert comparison["passed"] is False
    reasons = " ".join(comparison["reasons"])
    assert "5xx error rate" in reasons, reasons
    assert "p99 ModelLatency" in reasons, reasons
    [pipeline] = world.pipeline_executions
    assert world.candidates[pipeline] != world.champion
    assert world.pointer() == world.champion == world.serving_package()
    assert_lock_released(world, "manual-bake-regression")
    assert_notified(world, "rolled_back")


def test_sagemaker_auto_rollback_through_rolling_back(world: RetrainingWorld) -> None:
    # Unlike the silent rollback above, the endpoint is first seen RollingBack (the deployment guardrail's alarm
    # fired), which Verify treats as not ready and retries, before it is InService on the old config.
    world.sagemaker.outcomes = ["rolling_back"]

    described = world.run("manual-auto-rollback")
    arn = described["executionArn"]

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    assert world.states(arn) == [
        *HEAD,
        "CheckRegistration",
        "Registered?",
        *DEPLOY[:4],
        "Rollback",
        *ending("rolled_back"),
    ]
    assert "RollingBack" in world.sagemaker.observed
    # Updating, RollingBack, RollingBack (each retried after the definition's 60 s), then InService on the old config
    errors = [c.error for c in world.runtime.calls("fraud-detection-dev-verify")]
    assert errors == ["EndpointNotReady"] * 3 + ["SilentRollbackDetected"]
    assert world.retry_sleeps == [60, 90, 135]
    assert world.pointer() == world.champion == world.serving_package()
    assert_lock_released(world, "manual-auto-rollback")
    assert_notified(world, "rolled_back")


# ---- the pipeline's status event never arrives ------------------------------------------------------------------


def test_pipeline_event_never_arrives_times_out(resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> None:
    # WaitForPipeline's TimeoutSeconds is pipeline_timeout_hours * 3600 (integer hours >= 1, so no config can make
    # it short): this test alone overrides it to 2 s in the rendered definition; everything else is as synthesized.
    synthesized = resolved.definition["States"]["WaitForPipeline"]["TimeoutSeconds"]
    assert synthesized >= 3600
    assert synthesized % 3600 == 0
    with retraining_world(with_state_fields(resolved, "WaitForPipeline", TimeoutSeconds=2), monkeypatch) as world:
        world.outputs.status = "Executing"  # still running: register_wait's safety check leaves the token waiting

        described = world.wait(world.start("manual-pipeline-timeout"))
        arn = described["executionArn"]

        assert described["status"] == "FAILED"
        assert described["error"] == "RetrainingFailed"
        assert world.states(arn) == [*HEAD, *ending("failed")]
        timeouts = [e for e in world.history(arn) if e["type"] == "TaskTimedOut"]
        assert [e["taskTimedOutEventDetails"]["error"] for e in timeouts] == ["States.Timeout"]
        assert len(world.pipeline_executions) == 1
        assert world.pointer() == world.champion == world.serving_package()
        assert world.sagemaker.mutations() == []
        assert_lock_released(world, "manual-pipeline-timeout")
        assert_notified(world, "failed")

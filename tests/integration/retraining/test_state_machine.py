"""The synthesized DEV retraining state machine (blue_green, auto approval), executed by moto's Step Functions
interpreter with the real retraining and deployment handlers in-process, and the real pipeline definition behind
StartPipelineExecution (tests/support/sfn_offline.py).

Each scenario asserts on the execution history (the states entered) and on the state it leaves
(tests/integration/retraining/checks.py): pointer, endpoint, champion tag, deployment history and champion record,
the run's record, the lock, the owner's notification.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.retraining.checks import (
    assert_lock_released,
    assert_nothing_deployed,
    assert_notified,
    assert_promoted,
    assert_rolled_back,
    assert_run_recorded,
)
from tests.support.sfn_offline import Resolved, RetrainingWorld, retraining_world, with_state_fields

HEAD = ["SettingsGiven?", "Init", "Guard", "StartPipeline", "WaitForPipeline"]
DEPLOY = ["Approval", "Prepare", "Deploy", "Verify", "Bake", "Compare", "CandidateHealthy?"]


def ending(outcome: str) -> list[str]:
    return [f"Outcome-{outcome}", f"Notify-{outcome}", f"Release-{outcome}", f"End-{outcome}"]


def dedupe(states: list[str]) -> list[str]:
    """States entered, with re-entries by Retry collapsed (Retry re-runs a state without re-entering it)."""
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def test_better_candidate_is_promoted(world: RetrainingWorld) -> None:
    described = world.run("manual-promote")
    states = world.states(described["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY, "Promote", *ending("promoted")]
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    assert candidate != world.champion
    assert_promoted(world, "manual-promote", candidate)
    assert_run_recorded(world, "manual-promote", "promoted")
    assert_lock_released(world, "manual-promote")
    assert_notified(world, "promoted", says=candidate)
    # The endpoint was still Updating when Verify first ran: EndpointNotReady, retried after the definition's 60 s.
    verify = world.runtime.calls(world.resolved.deployment_function("verify"))
    assert [c.error for c in verify] == ["EndpointNotReady", None]
    assert world.retry_sleeps == [60]


def test_the_candidate_found_is_the_package_the_pipeline_registered(world: RetrainingWorld) -> None:
    # Given the real Register step's package (metadata rendered from the definition with the run's parameters)
    described = world.run("manual-registered")
    [pipeline] = world.pipeline_executions
    execution_id = pipeline.rsplit("/", 1)[-1]

    # Then check_registration found exactly that package, by the metadata the pipeline wrote on it
    [check] = [
        c
        for c in world.runtime.invocations
        if c.function == world.resolved.function("lambdas.retraining.check_registration").name
    ]
    assert check.result["model_package_arn"] == world.candidates[pipeline]
    assert check.result["code"] == "registered_beats_champion"
    package = world.client("sagemaker").describe_model_package(ModelPackageName=world.candidates[pipeline])
    assert package["MetadataProperties"]["GeneratedBy"] == f"{world.resolved.pipeline}/{execution_id}"
    custom = package["CustomerMetadataProperties"]
    assert custom["pipeline_execution_id"] == execution_id
    champion_data = world.client("sagemaker").describe_model_package(ModelPackageName=world.champion)
    assert (
        custom["champion"] == "model_data=" + champion_data["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    )
    [run] = world.state_items("RUN#")
    assert custom["training_window"] == f"{run['window_start']}/{run['window_end']}"
    assert float(custom["absolute_threshold"]) == world.resolved.deployment.spec.absolute_threshold
    assert described["status"] == "SUCCEEDED"


def test_candidate_not_better_ends_without_deploying(world: RetrainingWorld) -> None:
    world.outputs.not_better()

    described = world.run("manual-not-better")
    states = world.states(described["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *ending("not_better")]
    assert world.candidates == {}
    packages = world.client("sagemaker").list_model_packages(ModelPackageGroupName=world.resolved.group)
    assert [p["ModelPackageArn"] for p in packages["ModelPackageSummaryList"]] == [world.champion]
    assert_nothing_deployed(world)
    assert_run_recorded(world, "manual-not-better", "not_better")
    assert_lock_released(world, "manual-not-better")
    assert_notified(world, "not_better", says="does not beat the champion")


def test_failed_pipeline_fails_the_run(world: RetrainingWorld) -> None:
    world.outputs.failing_step = "Train"

    described = world.run("manual-pipeline-failed")
    arn = described["executionArn"]
    states = world.states(arn)

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingFailed"
    assert states == [*HEAD, *ending("failed")]
    failures = [e for e in world.history(arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["PipelineFailed"]
    assert world.candidates == {}
    assert_nothing_deployed(world)
    assert_run_recorded(world, "manual-pipeline-failed", "failed", reason="Step Train failed")
    assert_lock_released(world, "manual-pipeline-failed")
    assert_notified(world, "failed", says="Step Train failed")


def test_silent_rollback_is_detected_and_rolled_back(world: RetrainingWorld) -> None:
    world.sagemaker.outcomes = ["rollback"]  # an alarm fires: SageMaker ends InService on the OLD config

    described = world.run("manual-silent-rollback")
    states = world.states(described["executionArn"])

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    assert states == [*HEAD, "CheckRegistration", "Registered?", *DEPLOY[:4], "Rollback", *ending("rolled_back")]
    assert [c.error for c in world.runtime.calls(world.resolved.deployment_function("verify"))][-1] == (
        "SilentRollbackDetected"
    )
    [pipeline] = world.pipeline_executions
    assert_rolled_back(world, "manual-silent-rollback", world.candidates[pipeline], reason="SilentRollbackDetected")
    assert set(world.pointer_history()) == {world.champion}  # the pointer never named the candidate
    assert_run_recorded(world, "manual-silent-rollback", "rolled_back", reason="SilentRollbackDetected")
    assert_lock_released(world, "manual-silent-rollback")
    assert_notified(world, "rolled_back")


def test_ten_identical_alarm_triggers_start_one_retraining(world: RetrainingWorld) -> None:
    world.outputs.not_better()  # no deployment: the defaults' 5-minute bake never runs
    [alarms] = [r for r in world.resolved.rules if r.pattern["source"] == ["aws.cloudwatch"]]
    event = {
        "version": "0",
        "id": "offline-alarm-event",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": world.resolved.deployment.env.account,
        "region": world.resolved.deployment.env.region,
        "resources": [],
        "detail": {
            "alarmName": alarms.pattern["detail"]["alarmName"][0],  # the drift alarm
            "state": {"value": "ALARM", "reason": "drift", "timestamp": "2026-03-01T12:00:00.000+0000"},
        },
    }

    # The same alarm event, delivered ten times (EventBridge delivers at least once) to the synthesized rule's target
    results = [world.deliver(event)[0] for _ in range(10)]

    assert [r["started"] for r in results] == [True] + [False] * 9
    assert all(r["duplicate"] for r in results[1:])
    assert len({r["execution_name"] for r in results}) == 1
    sfn = world.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=world.resolved.state_machine_arn)["executions"]
    assert len(executions) == 1
    described = world.wait(executions[0]["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert world.states(described["executionArn"])[1] == "InitWithDefaults"  # the trigger sends no settings
    assert len(world.pipeline_executions) == 1
    [run] = world.state_items("RUN#")
    assert run["trigger_source"] == "alarm"
    assert_run_recorded(world, results[0]["execution_name"], "not_better")
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
    world.outputs.not_better()

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
    assert_run_recorded(world, "manual-transient", "not_better")
    assert_lock_released(world, "manual-transient")


# ---- the deployment goes wrong ------------------------------------------------------------------------------------


def test_bake_regression_is_rolled_back(world: RetrainingWorld) -> None:
    # blue_green = guardrails: the champion's window ends when the deployment started, the candidate's at Compare.
    # As tests/unit/deployment/support.regressed_evidence: the candidate errs (5 % 5xx) and is slow (2.4x p99).
    world.cloudwatch.set("primary", invocations=5000, errors=2, p99_us=40_000)
    world.cloudwatch.set_after_update("primary", invocations=5000, errors=250, p99_us=95_000)
    # The run's Bake waits 0 s; Compare is told the bake's 5 minutes have passed, else both windows are the
    # deployment's start minute (windows are whole minutes) and cannot differ.
    compare = world.resolved.deployment_function("compare")
    world.runtime.clock_ahead[compare] = timedelta(minutes=5)

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
    [comparison] = [c.result for c in world.runtime.calls(compare)]
    assert comparison["passed"] is False
    reasons = " ".join(comparison["reasons"])
    assert "5xx error rate" in reasons, reasons
    assert "p99 ModelLatency" in reasons, reasons
    [pipeline] = world.pipeline_executions
    # The endpoint was on the candidate's config: the rollback put it back on the champion's pinned config.
    assert world.sagemaker.mutations("update_endpoint")[-1][1]["EndpointConfigName"] == world.resolved.initial_config
    assert_rolled_back(world, "manual-bake-regression", world.candidates[pipeline], reason="CandidateRegressed")
    assert_run_recorded(world, "manual-bake-regression", "rolled_back", reason="CandidateRegressed")
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
    errors = [c.error for c in world.runtime.calls(world.resolved.deployment_function("verify"))]
    assert errors == ["EndpointNotReady"] * 3 + ["SilentRollbackDetected"]
    assert world.retry_sleeps == [60, 90, 135]
    [pipeline] = world.pipeline_executions
    assert_rolled_back(world, "manual-auto-rollback", world.candidates[pipeline], reason="SilentRollbackDetected")
    assert set(world.pointer_history()) == {world.champion}  # the pointer never named the candidate
    assert_run_recorded(world, "manual-auto-rollback", "rolled_back", reason="SilentRollbackDetected")
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
        assert_nothing_deployed(world)
        assert_run_recorded(world, "manual-pipeline-timeout", "failed", reason="States.Timeout")
        assert world.state_items("TOKEN#") == []  # release cleared the token nobody will use
        assert_lock_released(world, "manual-pipeline-timeout")
        assert_notified(world, "failed")

"""The retraining loop: a valid, logged, traced Standard state machine; event-driven waits; triggers; IAM."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from config import DEV, DeploymentSettings, DeploymentStrategy
from tests.support.asl import asl_validator_errors, rendered_definitions
from tests.support.synth import Synthesized, synthesize
from tests.support.templates import one_resource, resources_of_type

STACK = "fraud-detection-retraining"


def template(synth: Synthesized, env: str) -> dict[str, Any]:
    return synth.json(env, STACK)


def definition(synth: Synthesized, env: str) -> dict[str, Any]:
    (only,) = rendered_definitions(template(synth, env)).values()
    return only


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_loop_is_valid_asl_logged_traced_and_named_for_the_cli(
    synth: Synthesized, env: str, tmp_path: Path
) -> None:
    assert asl_validator_errors(definition(synth, env), tmp_path) is None
    _, machine = one_resource(template(synth, env), "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineName"] == f"mlops-{env}-fraud-detection-retraining"
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


@pytest.mark.variant_synth
def test_ab_strategy_steps_the_challenger_weight_in_a_valid_loop(tmp_path: Path) -> None:
    env = dataclasses.replace(DEV, deployment=DeploymentSettings(strategy=DeploymentStrategy.AB))
    synth = synthesize(tmp_path / "out", environments=[env])
    (ab,) = rendered_definitions(synth.json("dev", STACK)).values()
    assert asl_validator_errors(ab, tmp_path) is None
    states = ab["States"]
    assert states["WeightStep"]["Parameters"]["action"] == "ab_step"
    assert states["Advance"]["Next"] == "WeightStep"  # the loop back to the next weight


def test_waits_are_event_driven_with_timeouts(synth: Synthesized) -> None:
    states = definition(synth, "prod")["States"]
    for name, hours in (("WaitForPipeline", 12), ("Approval", 72)):
        assert states[name]["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken", name
        assert states[name]["TimeoutSeconds"] == hours * 3600
        assert states[name]["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    # No polling loop anywhere: the number of transitions does not grow with the pipeline's duration.
    assert not [n for n, s in states.items() if s["Type"] == "Wait" and "Pipeline" in n]


def test_every_path_notifies_and_releases_the_lock(synth: Synthesized) -> None:
    states = definition(synth, "prod")["States"]
    ends = {n: s for n, s in states.items() if s["Type"] in ("Succeed", "Fail")}
    assert set(ends) == {f"End-{o}" for o in ("failed", "skipped", "not_better", "rejected", "promoted", "rolled_back")}
    for outcome in ("failed", "skipped", "not_better", "rejected", "promoted", "rolled_back"):
        assert states[f"Outcome-{outcome}"]["Next"] == f"Notify-{outcome}"
        assert states[f"Notify-{outcome}"]["Next"] == f"Release-{outcome}"
        assert states[f"Release-{outcome}"]["Next"] == f"End-{outcome}"
        assert states[f"Release-{outcome}"]["Parameters"]["outcome"] == outcome
    assert ends["End-rolled_back"]["Type"] == "Fail"
    assert ends["End-failed"]["Type"] == "Fail"


def test_guard_skips_and_deployment_failures_are_caught_by_name(synth: Synthesized) -> None:
    states = definition(synth, "prod")["States"]
    guard_catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["Guard"]["Catch"]}
    assert guard_catches[("RetrainingPaused", "RetrainingInProgress", "CooldownActive", "BudgetExhausted")] == (
        "Outcome-skipped"
    )
    for name in ("Prepare", "Deploy", "Verify", "Compare", "Promote"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["Rollback"], name
    verify_retry = next(r for r in states["Verify"]["Retry"] if r["ErrorEquals"] == ["EndpointNotReady"])
    assert verify_retry["MaxAttempts"] == 40
    assert states["Approval"]["Catch"][0] == {
        "ErrorEquals": ["CandidateRejected"],
        "ResultPath": "$.error",
        "Next": "Outcome-rejected",
    }
    assert states["Rollback"]["Next"] == "Outcome-rolled_back"


def test_triggers_alarms_schedule_pipeline_and_approval_events(synth: Synthesized) -> None:
    rules = {k: r["Properties"] for k, r in resources_of_type(template(synth, "prod"), "AWS::Events::Rule").items()}
    alarms = next(r for k, r in rules.items() if k.startswith("LoopOnAlarms"))["EventPattern"]
    assert alarms["detail-type"] == ["CloudWatch Alarm State Change"]
    assert alarms["detail"]["state"] == {"value": ["ALARM"]}
    monitoring = synth.json("prod", "fraud-detection-monitoring")["Resources"].values()
    deployed = {r["Properties"].get("AlarmName") for r in monitoring if r["Type"] == "AWS::CloudWatch::Alarm"} | {
        r["Properties"].get("AlarmName") for r in monitoring if r["Type"] == "AWS::CloudWatch::CompositeAlarm"
    }
    assert alarms["detail"]["alarmName"] == [
        "fraud-detection-prod-drift",
        "fraud-detection-prod-quality-prauc",
        "fraud-detection-prod-kpi-fraud-value-missed",
        "fraud-detection-prod-kpi-review-cost",
    ]
    assert set(alarms["detail"]["alarmName"]) <= deployed  # every trigger is a real alarm
    schedule = next(r for k, r in rules.items() if k.startswith("LoopOnSchedule"))
    assert schedule["ScheduleExpression"] == "rate(7 days)"
    pipeline = next(r for k, r in rules.items() if k.startswith("LoopOnPipelineStatus"))["EventPattern"]
    assert pipeline["detail"]["currentPipelineExecutionStatus"] == ["Succeeded", "Failed", "Stopped"]
    approval = next(r for k, r in rules.items() if k.startswith("LoopOnApprovalDecision"))["EventPattern"]
    assert approval["detail"]["ModelPackageGroupName"] == ["fraud-detection-prod"]
    assert not any(k.startswith("LoopOnSchedule") for k in template_rules(synth, "dev"))  # off in dev


def template_rules(synth: Synthesized, env: str) -> list[str]:
    return list(resources_of_type(template(synth, env), "AWS::Events::Rule"))


def test_roles_are_scoped_to_this_models_resources(synth: Synthesized) -> None:
    t = template(synth, "prod")
    for policy in resources_of_type(t, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), actions
            text = json.dumps(statement["Resource"])
            # The task token names the task, and ListModelPackages names no package: both only match "*" (the
            # IAM reference lists no resource type for them), so they must not be scoped.
            unscoped = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
            if set(actions) & (unscoped | {"sagemaker:ListModelPackages"}):
                assert statement["Resource"] == "*", statement
            elif any(a.startswith("sagemaker:") for a in actions):
                assert "fraud-detection-prod" in text, statement
    invokes = [
        s
        for p in resources_of_type(t, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    deploy_targets = json.dumps(invokes)
    for step in ("prepare", "deploy", "verify", "compare", "promote", "rollback"):
        assert f"function:fraud-detection-prod-{step}" in deploy_targets


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_task_passes_an_object_as_parameters(synth: Synthesized, env: str) -> None:
    # asl-validator accepts "Parameters": "$", which AWS and moto reject (aws/aws-cdk#34260).
    for name, state in definition(synth, env)["States"].items():
        assert isinstance(state.get("Parameters", {}), dict), name

"""dev's idle schedule in the templates (ADR 0020): two rules invoke the serving stack's idle function at the edges
of the awake hours; staging and prod have neither; a deployment into a sleeping endpoint can wake it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import DEV, ENVIRONMENTS
from tests.support.synth import Synthesized

IDLE_HANDLER = "lambdas.deployment.idle.handler"


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def idle_functions(template: dict[str, Any]) -> list[str]:
    return [
        k for k, f in resources(template, "AWS::Lambda::Function").items() if f["Properties"]["Handler"] == IDLE_HANDLER
    ]


def statements_of(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_dev_sleeps_and_wakes_on_its_schedule(synth: Synthesized) -> None:
    serving = synth.json("dev", "fraud-detection-serving")
    (function,) = idle_functions(serving)
    rules = {}
    for rule in resources(serving, "AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets", []):
            if target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}:
                rules[json.loads(target["Input"])["action"]] = rule["Properties"]["ScheduleExpression"]
                assert "DeadLetterConfig" in target
    assert DEV.idle is not None
    assert rules == {"sleep": "cron(0 19 ? * MON-FRI *)", "wake": "cron(0 7 ? * MON-FRI *)"}
    actions = {
        a
        for s in statements_of(serving, function)
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"sagemaker:DeleteEndpoint", "sagemaker:CreateEndpoint", "kms:CreateGrant"} <= actions


@pytest.mark.parametrize("env", [e.name for e in ENVIRONMENTS if e.idle is None])
def test_environments_without_a_schedule_have_no_idle_function_or_rule(synth: Synthesized, env: str) -> None:
    serving = synth.json(env, "fraud-detection-serving")
    assert idle_functions(serving) == []
    assert not [r for r in resources(serving, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]


@pytest.mark.parametrize("env", [e.name for e in ENVIRONMENTS])
def test_prepare_may_wake_the_endpoint_and_the_loop_retries_it_until_it_serves(synth: Synthesized, env: str) -> None:
    serving = synth.json(env, "fraud-detection-serving")
    (prepare,) = [
        k
        for k, f in resources(serving, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "lambdas.deployment.prepare.handler"
    ]
    creates = [s for s in statements_of(serving, prepare) if s["Action"] == "sagemaker:CreateEndpoint"]
    assert len(creates) == 1
    assert any("endpoint/fraud-detection-" in json.dumps(r) for r in creates[0]["Resource"])
    retraining = synth.json(env, "fraud-detection-retraining")
    (machine,) = resources(retraining, "AWS::StepFunctions::StateMachine").values()
    text = json.dumps(machine["Properties"]["DefinitionString"])
    start = text.index('\\"Prepare\\":')
    retry = text[start : text.index('\\"Type\\"', start)]  # the state's Next, Retry and Catch come first
    assert "EndpointNotReady" in retry

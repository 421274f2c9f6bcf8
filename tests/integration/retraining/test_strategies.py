"""Every deployment strategy end to end, each on its environment's own synthesized state machine:

- staging, shadow: the candidate runs as a shadow variant on a copy of live traffic, is compared with
  production (errors, latency, score distribution, agreement), and the promotion collapses the endpoint to it;
- prod, canary with MANUAL approval: the run waits for the owner, who decides with the on-call CLI (``approve``
  / ``reject``); the registry's event completes the wait through the synthesized rule;
- an A/B variant of staging: champion and challenger as two production variants; every weight step is applied,
  verified, observed and compared before the next, then the endpoint collapses to the challenger; a step that
  regresses rolls everything back.
"""

from __future__ import annotations

import json
from typing import Any

from tests.integration.retraining.checks import (
    assert_lock_released,
    assert_nothing_deployed,
    assert_notified,
    assert_promoted,
    assert_rolled_back,
    assert_run_recorded,
)
from tests.integration.retraining.test_state_machine import HEAD, ending
from tests.support.sfn_offline import HEALTHY, REGRESSED, RetrainingWorld

REGISTERED = ["CheckRegistration", "Registered?", "Approval", "Prepare", "Deploy", "Verify"]


def created_configs(world: RetrainingWorld) -> dict[str, dict[str, Any]]:
    return {p["EndpointConfigName"]: p for _, p in world.sagemaker.mutations("create_endpoint_config")}


def comparisons(world: RetrainingWorld) -> list[dict[str, Any]]:
    return [c.result for c in world.runtime.calls(world.resolved.deployment_function("compare")) if c.result]


# ---- staging: shadow ---------------------------------------------------------------------------------------------


def test_shadow_candidate_is_compared_on_a_copy_of_live_traffic_then_promoted(staging_world: RetrainingWorld) -> None:
    world = staging_world
    assert world.resolved.strategy.value == "shadow"

    described = world.run("staging-shadow")
    arn = described["executionArn"]

    assert described["status"] == "SUCCEEDED"
    assert world.states(arn) == [
        *HEAD,
        *REGISTERED,
        "Bake",
        "Compare",
        "CandidateHealthy?",
        "Promote",
        *ending("promoted"),
    ]
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    deployment = assert_promoted(world, "staging-shadow", candidate)
    # Deployed: the live variant unchanged, the candidate as the shadow variant, with no guardrail policy.
    shadow_config = created_configs(world)[deployment["deploy_config"]]
    [primary] = shadow_config["ProductionVariants"]
    [shadow] = shadow_config["ShadowProductionVariants"]
    assert (primary["VariantName"], primary["ModelName"]) == ("primary", world.resolved.initial_model)
    assert shadow["VariantName"] == "shadow"
    assert world.package_of_model(shadow["ModelName"]) == candidate
    [to_shadow, collapse] = [p for _, p in world.sagemaker.mutations("update_endpoint")]
    assert to_shadow["EndpointConfigName"] == deployment["deploy_config"]
    assert "DeploymentConfig" not in to_shadow
    # Judged on the traffic the shadow saw: the same requests as production, scored alike.
    assert world.traffic.served == [{"primary": 1.0, "shadow": 1.0}]
    [comparison] = comparisons(world)
    assert comparison["passed"] is True, comparison["reasons"]
    predictions = comparison["metrics"]["predictions"]
    assert predictions["matched"] == world.traffic.requests
    assert predictions["agreement_rate"] >= 0.99
    # Promoted: the endpoint collapsed to one variant, the candidate as "primary", no shadow left.
    assert collapse["EndpointConfigName"] == deployment["final_config"]
    final = world.endpoint_config()
    assert [v["VariantName"] for v in final["ProductionVariants"]] == ["primary"]
    assert "ShadowProductionVariants" not in final
    # Promote asked for the collapse and was retried (EndpointNotReady) until the endpoint was InService on it.
    promote = [c.error for c in world.runtime.calls(world.resolved.deployment_function("promote"))]
    assert promote == ["EndpointNotReady", "EndpointNotReady", None]
    assert_run_recorded(world, "staging-shadow", "promoted")
    assert_lock_released(world, "staging-shadow")
    assert_notified(world, "promoted", says=candidate)


# ---- prod: canary, manual approval with the on-call CLI -------------------------------------------------------


def _parked_at_approval(world: RetrainingWorld, execution_arn: str) -> str:
    """Wait until the run waits for the owner (approval stored its token); the candidate package's ARN."""
    approval = world.resolved.function("lambdas.retraining.approval")
    world.wait_for(
        lambda: world.state_items("TOKEN#APPROVAL#") and any(c.result for c in world.runtime.calls(approval.name)),
        execution_arn,
    )
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    [token] = world.state_items("TOKEN#APPROVAL#")
    assert token["sk"] == f"TOKEN#APPROVAL#{candidate}"
    assert world.states(execution_arn)[-1] == "Approval"
    scheduled = [e for e in world.history(execution_arn) if e["type"] == "TaskScheduled"]
    assert json.loads(scheduled[-1]["taskScheduledEventDetails"]["parameters"])["FunctionName"] == approval.arn
    assert world.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    package = world.client("sagemaker").describe_model_package(ModelPackageName=candidate)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # nobody but the owner approves in prod
    return candidate


def test_canary_waits_for_the_owner_who_approves_with_the_cli(prod_world: RetrainingWorld) -> None:
    world = prod_world
    assert (world.resolved.strategy.value, world.resolved.environment.approval.value) == ("canary", "manual")
    arn = world.start("prod-approve")
    candidate = _parked_at_approval(world, arn)

    # The owner approves the newest pending package, as on call: python -m tools.mlops_cli approve ...
    code, out, err = world.cli("approve", "--package", "latest", "--note", "evaluation reviewed")
    assert (code, err) == (0, ""), err
    assert candidate in out
    # SageMaker's registry event for the decision, through the synthesized rule to approval_callback
    [callback] = world.package_state_changed(candidate)
    described = world.wait(arn)

    assert (callback["handled"], callback["delivered"]) == (True, True), callback
    assert described["status"] == "SUCCEEDED"
    assert world.states(arn) == [
        *HEAD,
        *REGISTERED,
        "Bake",
        "Compare",
        "CandidateHealthy?",
        "Promote",
        *ending("promoted"),
    ]
    package = world.client("sagemaker").describe_model_package(ModelPackageName=candidate)
    assert package["ModelApprovalStatus"] == "Approved"
    assert "evaluation reviewed" in package["ApprovalDescription"]
    assert "mlops-cli" in package["ApprovalDescription"]
    # One UpdateEndpoint with SageMaker's canary guardrails: 25 % of capacity first, auto-rollback on the alarms.
    [(_, update)] = world.sagemaker.mutations("update_endpoint")
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 900,
    }
    alarms = [a["AlarmName"] for a in update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    assert alarms, update
    assert all(a.startswith("fraud-detection-prod-") for a in alarms), alarms
    assert_promoted(world, "prod-approve", candidate)
    assert_run_recorded(world, "prod-approve", "promoted")
    assert_lock_released(world, "prod-approve")
    assert_notified(world, "promoted", says=candidate)


def test_canary_candidate_rejected_with_the_cli_is_not_deployed(prod_world: RetrainingWorld) -> None:
    world = prod_world
    arn = world.start("prod-reject")
    candidate = _parked_at_approval(world, arn)

    code, _, err = world.cli("reject", "--package", "latest", "--note", "PR-AUC gain is within noise")
    assert (code, err) == (0, ""), err
    [callback] = world.package_state_changed(candidate)
    described = world.wait(arn)

    assert (callback["handled"], callback["delivered"]) == (True, True), callback
    assert described["status"] == "SUCCEEDED"
    assert world.states(arn) == [*HEAD, "CheckRegistration", "Registered?", "Approval", *ending("rejected")]
    failures = [e for e in world.history(arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["CandidateRejected"]
    assert world.state_items("TOKEN#APPROVAL#") == []
    described_package = world.client("sagemaker").describe_model_package(ModelPackageName=candidate)
    assert described_package["ModelApprovalStatus"] == "Rejected"
    assert_nothing_deployed(world)
    assert_run_recorded(world, "prod-reject", "rejected", reason="PR-AUC gain is within noise")
    assert_lock_released(world, "prod-reject")
    assert_notified(world, "rejected", says="PR-AUC gain is within noise")


# ---- A/B: the weight-step loop ----------------------------------------------------------------------------------

STEP = ["WeightStep", "VerifyStep", "ObserveStep", "Compare", "CandidateHealthy?"]
NEXT = ["NextWeightStep", "Advance"]


def weights_applied(world: RetrainingWorld) -> list[dict[str, float]]:
    return [
        {w["VariantName"]: w["DesiredWeight"] for w in p["DesiredWeightsAndCapacities"]}
        for _, p in world.sagemaker.mutations("update_endpoint_weights_and_capacities")
    ]


def test_ab_steps_the_challenger_through_every_weight_then_promotes(ab_world: RetrainingWorld) -> None:
    world = ab_world
    steps = world.resolved.environment.deployment.ab.weight_steps_percent
    assert world.resolved.strategy.value == "ab"
    assert steps == (10, 25, 50, 100)

    described = world.run("ab-promote")
    arn = described["executionArn"]

    assert described["status"] == "SUCCEEDED"
    loop = [*STEP, *NEXT] * (len(steps) - 1) + STEP
    assert world.states(arn) == [*HEAD, *REGISTERED, "FirstWeightStep", *loop, "Promote", *ending("promoted")]
    # Every step applied (the challenger's weight, the champion the rest), in order, each once.
    assert weights_applied(world) == [{"primary": round(1 - s / 100, 6), "challenger": s / 100} for s in steps]
    # ... served: the traffic split as the weights say (the deploy itself moved no traffic) ...
    assert [served.get("challenger") for served in world.traffic.served] == [0.0, 0.1, 0.25, 0.5, 1.0]
    # ... and compared before the next step was allowed.
    assert [(c["step_index"], c["passed"]) for c in comparisons(world)] == [(i, True) for i in range(len(steps))]
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    deployment = assert_promoted(world, "ab-promote", candidate)
    ab_config = created_configs(world)[deployment["deploy_config"]]
    assert [(v["VariantName"], v["InitialVariantWeight"]) for v in ab_config["ProductionVariants"]] == [
        ("primary", 1.0),
        ("challenger", 0.0),
    ]
    assert [v["VariantName"] for v in world.endpoint_config()["ProductionVariants"]] == ["primary"]
    assert_run_recorded(world, "ab-promote", "promoted")
    assert_lock_released(world, "ab-promote")
    assert_notified(world, "promoted", says=candidate)


def test_ab_step_that_regresses_rolls_everything_back(ab_world: RetrainingWorld) -> None:
    world = ab_world
    # The challenger holds up on a small share of the traffic and breaks at half of it.
    world.traffic.candidate = lambda share: REGRESSED if share >= 0.5 else HEALTHY

    described = world.run("ab-regress")
    arn = described["executionArn"]

    assert described["status"] == "FAILED"
    assert described["error"] == "RetrainingRolledBack"
    loop = [*STEP, *NEXT, *STEP, *NEXT, *STEP]
    expected = [*HEAD, *REGISTERED, "FirstWeightStep", *loop, "Regressed", "Rollback", *ending("rolled_back")]
    assert world.states(arn) == expected
    assert weights_applied(world) == [
        {"primary": 0.9, "challenger": 0.1},
        {"primary": 0.75, "challenger": 0.25},
        {"primary": 0.5, "challenger": 0.5},
    ]  # never 100 %
    results = comparisons(world)
    assert [(c["step_index"], c["passed"]) for c in results] == [(0, True), (1, True), (2, False)]
    assert any("5xx error rate" in r for r in results[-1]["reasons"]), results[-1]["reasons"]
    [pipeline] = world.pipeline_executions
    candidate = world.candidates[pipeline]
    assert_rolled_back(world, "ab-regress", candidate, reason="CandidateRegressed")
    assert [v["VariantName"] for v in world.endpoint_config()["ProductionVariants"]] == ["primary"]
    assert_run_recorded(world, "ab-regress", "rolled_back", reason="CandidateRegressed")
    assert_lock_released(world, "ab-regress")
    assert_notified(world, "rolled_back")

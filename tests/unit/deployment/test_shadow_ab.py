"""Shadow and A/B: a good candidate is promoted, a bad one is blocked with reasons, at every step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lambdas.deployment.deploy import deploy
from lambdas.deployment.errors import CandidateRegressed, PromotionBlocked, StepOutOfOrder
from lambdas.deployment.promote import promote
from lambdas.deployment.verify import verify
from tests.unit.deployment.conftest import ENDPOINT, World
from tests.unit.deployment.support import (
    healthy_evidence,
    prepare_and_deploy,
    promote_until_done,
    regressed_evidence,
    run_compare,
    scores,
)

STEPS = (10, 50, 100)  # conftest's ab.weight_steps_percent


def weights(world: World) -> dict[str, float]:
    described = world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    return {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in described["ProductionVariants"]}


def test_a_healthy_shadow_candidate_is_compared_then_collapsed_into_the_stable_variant(world: World) -> None:
    env = world.env("shadow")
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.run(verify, {"deployment_id": "exec-1"}, env)
    healthy_evidence(world, "shadow", at=world.now)

    comparison = run_compare(world, env, "exec-1")
    result = promote_until_done(world, env, "exec-1")

    assert comparison["passed"] is True, comparison["reasons"]
    assert comparison["reasons"] == []
    predictions = comparison["metrics"]["predictions"]
    assert (predictions["matched"], predictions["agreement_rate"]) == (200, 1.0)
    assert predictions["distance"] < 0.1
    assert comparison["metrics"]["candidate"]["p99_model_latency_us"] == 42_000
    [_, candidate_query] = world.cloudwatch.requests
    assert [q["MetricStat"]["Stat"] for q in candidate_query["MetricDataQueries"]] == ["Sum", "Sum", "p99"]
    assert {d["Value"] for d in candidate_query["MetricDataQueries"][2]["MetricStat"]["Metric"]["Dimensions"]} == {
        ENDPOINT,
        "shadow",
    }
    assert candidate_query["EndTime"] - candidate_query["StartTime"] == timedelta(minutes=60)
    collapse = world.sagemaker.mutations("update_endpoint")[-1][1]
    assert collapse == {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": prepared["final_endpoint_config_name"],
        "RetainAllVariantProperties": False,
    }
    assert world.sagemaker.endpoint_config_name() == prepared["final_endpoint_config_name"]
    final = world.sagemaker.describe_endpoint_config(EndpointConfigName=prepared["final_endpoint_config_name"])
    assert [(v["VariantName"], v["ModelName"]) for v in final["ProductionVariants"]] == [
        ("primary", prepared["model_name"])
    ]
    assert world.pointer() == world.packages["v2"]
    assert result["outcome"] == "promoted"


def test_a_regressed_shadow_candidate_is_blocked_with_reasons(world: World) -> None:
    env = world.env("shadow")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    regressed_evidence(world, "shadow", at=world.now)

    comparison = run_compare(world, env, "exec-1")

    assert comparison["passed"] is False
    reasons = "\n".join(comparison["reasons"])
    assert "5xx error rate 5.000% is 4.960 points above" in reasons
    assert "p99 ModelLatency 95000 us is 2.38x the champion's 40000 us" in reasons
    assert "score distribution distance (KS) 0.455 exceeds 0.1" in reasons
    assert "decisions agree on" in reasons
    with pytest.raises(CandidateRegressed, match="candidate regressed: 5xx error rate"):
        world.run(promote, {"deployment_id": "exec-1"}, env)
    assert len(world.sagemaker.mutations("update_endpoint")) == 1  # no collapse
    assert world.pointer() == world.packages["v1"]


def test_shadow_promotion_needs_a_comparison_first(world: World) -> None:
    env = world.env("shadow")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()

    with pytest.raises(PromotionBlocked, match="no comparison recorded; run compare first"):
        world.run(promote, {"deployment_id": "exec-1"}, env)


def test_a_shadow_candidate_without_enough_traffic_is_not_judged_healthy(world: World) -> None:
    env = world.env("shadow")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.cloudwatch.set("primary", invocations=20, errors=0, p99_us=40_000)
    world.cloudwatch.set("shadow", invocations=20, errors=0, p99_us=40_000)

    comparison = run_compare(world, env, "exec-1")

    assert comparison["passed"] is False
    assert comparison["reasons"][0].startswith("candidate variant 'shadow' served 20 invocations")
    assert "only 0 champion and 0 candidate predictions were captured" in comparison["reasons"][1]


@pytest.mark.parametrize("failing_step", [None, 0, 1, 2])
def test_each_ab_step_moves_a_good_challenger_on_and_blocks_a_bad_one(world: World, failing_step: int | None) -> None:
    env = world.env("ab")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()

    for index, percent in enumerate(STEPS):
        step = world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": index}, env)
        assert step["weight_percent"] == percent
        assert weights(world) == {
            "primary": pytest.approx(1 - percent / 100),
            "challenger": pytest.approx(percent / 100),
        }
        world.now += timedelta(hours=1)  # the step's observation window
        evidence = regressed_evidence if index == failing_step else healthy_evidence
        evidence(world, "challenger", at=world.now)
        comparison = run_compare(world, env, "exec-1")
        assert comparison["passed"] is (index != failing_step), comparison["reasons"]
        assert comparison["step_index"] == index
        if index == failing_step:
            break

    if failing_step is None:
        promote_until_done(world, env, "exec-1")
        assert world.pointer() == world.packages["v2"]
        assert list(weights(world)) == ["primary"]  # collapsed to one variant, the candidate as "primary"
        return
    before = weights(world)
    if failing_step + 1 < len(STEPS):
        step, event = deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": failing_step + 1}
    else:
        step, event = promote, {"deployment_id": "exec-1"}
    with pytest.raises(CandidateRegressed, match="5xx error rate"):
        world.run(step, event, env)
    assert weights(world) == before
    assert world.pointer() == world.packages["v1"]


def test_an_ab_challenger_whose_scores_moved_is_blocked_even_when_it_serves_well(world: World) -> None:
    """The other side of ADR 0016: champion and challenger score the same traffic at the same time, so a moved
    score distribution is the models' difference and the distance limit holds."""
    env = world.env("ab")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": 0}, env)
    world.now += timedelta(hours=1)
    world.cloudwatch.set("primary", invocations=5000, errors=2, p99_us=40_000)
    world.cloudwatch.set("challenger", invocations=5000, errors=2, p99_us=40_000)
    world.write_captures("primary", scores(200), at=world.now - timedelta(minutes=5))
    world.write_captures("challenger", scores(200, shift=0.45, prefix="other"), at=world.now - timedelta(minutes=5))

    comparison = run_compare(world, env, "exec-1")

    assert comparison["passed"] is False
    assert comparison["reasons"] == ["score distribution distance (KS) 0.455 exceeds 0.1"]


def test_ab_steps_cannot_be_skipped_or_taken_before_a_comparison(world: World) -> None:
    env = world.env("ab")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": 0}, env)

    with pytest.raises(StepOutOfOrder, match="ab_step 2 requested, but the last step applied is 0"):
        world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": 2}, env)
    with pytest.raises(PromotionBlocked, match="no comparison recorded at A/B step 0"):
        world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": 1}, env)
    with pytest.raises(PromotionBlocked, match="challenger is at A/B step 0"):
        world.run(promote, {"deployment_id": "exec-1"}, env)
    assert len(world.sagemaker.mutations("update_endpoint_weights_and_capacities")) == 1

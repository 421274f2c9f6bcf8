"""promote writes the pointer, tags and history only once the endpoint is verified on the new config."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lambdas.deployment.errors import CandidateRegressed, EndpointNotReady, SilentRollbackDetected
from lambdas.deployment.events import format_time, parse_time
from lambdas.deployment.history import HistoryStore
from lambdas.deployment.promote import promote
from lambdas.deployment.registry import CHAMPION_TAG
from tests.unit.deployment.conftest import ENDPOINT, INITIAL_CONFIG, INITIAL_MODEL, POINTER, TABLE, World
from tests.unit.deployment.support import (
    deploy_and_promote,
    prepare_and_deploy,
    promote_until_done,
    run_compare,
    scores,
)


def store(world: World) -> HistoryStore:
    return HistoryStore(dynamodb=world.dynamodb, table=TABLE, model_name="fraud-detection", environment="dev")


def test_promote_after_verify_moves_pointer_tags_and_history(world: World) -> None:
    env = world.env("canary")
    world.sagemaker.package_tags[world.packages["v1"]] = {CHAMPION_TAG: "true"}
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()

    result = world.run(promote, {"deployment_id": "exec-1", "requested_by": "risk-ml-oncall"}, env)

    assert world.pointer() == world.packages["v2"]
    assert world.sagemaker.package_tags[world.packages["v2"]] == {CHAMPION_TAG: "true"}
    assert world.sagemaker.package_tags[world.packages["v1"]] == {}
    promoted_at = format_time(world.now)
    assert result == {
        "deployment_id": "exec-1",
        "outcome": "promoted",
        "model_package_arn": world.packages["v2"],
        "previous_model_package_arn": world.packages["v1"],
        "endpoint_config_name": prepared["final_endpoint_config_name"],
        "serving_pointer_parameter": POINTER,
        "promoted_at": promoted_at,
    }
    record = store(world).get("exec-1")
    assert (record.status, record.outcome, record.strategy) == ("promoted", "promoted", "canary")
    assert (record.model_package_arn, record.previous_model_package_arn) == (world.packages["v2"], world.packages["v1"])
    assert (record.promoted_at, record.finished_at, record.requested_by) == (promoted_at, promoted_at, "risk-ml-oncall")
    champion = store(world).champion()
    assert champion is not None
    assert champion.current.model_package_arn == world.packages["v2"]
    assert champion.current.endpoint_config_name == prepared["final_endpoint_config_name"]
    assert champion.previous is not None
    assert (champion.previous.model_package_arn, champion.previous.endpoint_config_name) == (
        world.packages["v1"],
        INITIAL_CONFIG,
    )
    assert champion.previous.model_name == INITIAL_MODEL


def test_promote_before_the_update_finished_changes_nothing(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")

    with pytest.raises(EndpointNotReady):
        world.run(promote, {"deployment_id": "exec-1"}, env)

    assert world.pointer() == world.packages["v1"]
    assert world.sagemaker.mutations("add_tags", "delete_tags") == []
    assert store(world).get("exec-1").status == "deploying"
    assert store(world).champion() is None


def test_promote_after_a_silent_rollback_refuses_and_keeps_the_pointer(world: World) -> None:
    env = world.env("linear")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.sagemaker_rolls_back()

    with pytest.raises(SilentRollbackDetected, match=INITIAL_CONFIG):
        world.run(promote, {"deployment_id": "exec-1"}, env)

    assert world.pointer() == world.packages["v1"]


def test_promote_twice_promotes_once(world: World) -> None:
    env = world.env("blue_green")
    first = deploy_and_promote(world, env, "exec-1", "v2")
    calls = len(world.sagemaker.mutations())
    version = world.ssm.get_parameter(Name=POINTER)["Parameter"]["Version"]

    second = world.run(promote, {"deployment_id": "exec-1"}, env)

    assert second == first
    assert len(world.sagemaker.mutations()) == calls
    assert world.ssm.get_parameter(Name=POINTER)["Parameter"]["Version"] == version


def test_a_regression_found_in_the_bake_window_blocks_a_canary(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.now += timedelta(minutes=20)  # the state machine's bake window
    before_end = parse_time(store(world).get("exec-1").started_at).replace(second=0, microsecond=0)
    world.cloudwatch.set("primary", invocations=3000, errors=1, p99_us=40_000, window_end=before_end)
    world.cloudwatch.set("primary", invocations=3000, errors=90, p99_us=41_000)
    world.write_captures("primary", scores(100), at=before_end - timedelta(minutes=3), name="before")
    world.write_captures("primary", scores(100), at=world.now - timedelta(minutes=3), name="after")

    comparison = run_compare(world, env, "exec-1")

    assert comparison["passed"] is False
    assert comparison["reasons"] == [
        "5xx error rate 3.000% is 2.967 points above the champion's 0.033% (limit 0.5 points)"
    ]
    windows = [(r["StartTime"], r["EndTime"]) for r in world.cloudwatch.requests]
    assert windows[0][1] == before_end  # the champion is the same variant before the deployment started
    with pytest.raises(CandidateRegressed, match="5xx error rate"):
        world.run(promote, {"deployment_id": "exec-1"}, env)
    assert world.pointer() == world.packages["v1"]


@pytest.mark.parametrize("strategy", ["blue_green", "canary", "linear"])
def test_a_guardrail_bake_records_a_moved_score_distribution_without_failing_on_it(world: World, strategy: str) -> None:
    """A model retrained after drift scores the traffic after its deployment differently from how the old model
    scored the traffic before it: the distance is evidence, serving health decides (ADR 0016)."""
    env = world.env(strategy)
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.now += timedelta(minutes=20)
    before_end = parse_time(store(world).get("exec-1").started_at).replace(second=0, microsecond=0)
    world.cloudwatch.set("primary", invocations=3000, errors=1, p99_us=40_000, window_end=before_end)
    world.cloudwatch.set("primary", invocations=3000, errors=1, p99_us=41_000)
    world.write_captures("primary", scores(100), at=before_end - timedelta(minutes=3), name="before")
    world.write_captures("primary", scores(100, shift=0.45), at=world.now - timedelta(minutes=3), name="after")

    comparison = run_compare(world, env, "exec-1")

    assert comparison["passed"] is True, comparison["reasons"]
    assert comparison["metrics"]["predictions"]["distance"] == pytest.approx(0.45, abs=0.01)
    assert comparison["metrics"]["predictions"]["distance"] > env.settings.shadow.max_prediction_distance
    promote_until_done(world, env, "exec-1")
    assert world.pointer() == world.packages["v2"]


def test_history_lists_deployments_newest_first(world: World) -> None:
    env = world.env("canary")
    deploy_and_promote(world, env, "exec-1", "v2")
    deploy_and_promote(world, env, "exec-2", "v3")

    listed = store(world).list_deployments()

    assert [(d.deployment_id, d.model_package_arn, d.previous_model_package_arn) for d in listed] == [
        ("exec-2", world.packages["v3"], world.packages["v2"]),
        ("exec-1", world.packages["v2"], world.packages["v1"]),
    ]
    assert [d.previous_deployment_id for d in listed] == ["exec-1", ""]
    assert world.sagemaker.endpoint_config_name() == listed[0].final_config
    assert ENDPOINT in listed[0].final_config

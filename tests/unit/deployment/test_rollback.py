"""rollback restores the pinned previous version from every state a failed deployment can leave."""

from __future__ import annotations

import pytest

from lambdas.deployment.deploy import deploy
from lambdas.deployment.errors import EndpointFailed, EndpointNotReady, RollbackImpossible
from lambdas.deployment.history import HistoryStore
from lambdas.deployment.names import rollback_names
from lambdas.deployment.registry import CHAMPION_TAG
from lambdas.deployment.rollback import rollback
from tests.unit.deployment.conftest import ENDPOINT, INITIAL_CONFIG, INITIAL_MODEL, POINTER, TABLE, World
from tests.unit.deployment.support import deploy_and_promote, prepare_and_deploy, rollback_until_done


def store(world: World) -> HistoryStore:
    return HistoryStore(dynamodb=world.dynamodb, table=TABLE, model_name="fraud-detection", environment="dev")


def rollback_updates(world: World) -> list[dict[str, object]]:
    return [p for _, p in world.sagemaker.mutations("update_endpoint") if p["EndpointConfigName"] == INITIAL_CONFIG]


def assert_rolled_back_to_v1(world: World, deployment_id: str) -> None:
    assert world.sagemaker.endpoint_config_name() == INITIAL_CONFIG
    described = world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["primary"]
    assert world.pointer() == world.packages["v1"]
    record = store(world).get(deployment_id)
    assert (record.status, record.outcome) == ("rolled_back", "rolled_back")


def test_mid_canary_rollback_waits_for_sagemaker_then_restores_the_previous_config(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")  # the canary is shifting traffic: endpoint Updating

    with pytest.raises(EndpointNotReady, match=r"Updating .* waits until it settles"):
        world.run(rollback, {"deployment_id": "exec-1", "reason": "canary alarm"}, env)
    assert rollback_updates(world) == []  # nothing can be done while SageMaker updates
    world.sagemaker.finish_update()  # the canary completed after all
    result = rollback_until_done(world, env, {"deployment_id": "exec-1", "reason": "canary alarm"})

    assert rollback_updates(world) == [
        {"EndpointName": ENDPOINT, "EndpointConfigName": INITIAL_CONFIG, "RetainAllVariantProperties": False}
    ]
    assert_rolled_back_to_v1(world, "exec-1")
    assert store(world).get("exec-1").reason == "canary alarm"
    assert result["restored_model_package_arn"] == world.packages["v1"]
    assert result["restored_endpoint_config_name"] == INITIAL_CONFIG
    assert result["outcome"] == "rolled_back"


def test_rollback_detaches_an_attached_shadow_variant(world: World) -> None:
    env = world.env("shadow")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()

    rollback_until_done(world, env, {"deployment_id": "exec-1"})

    assert len(rollback_updates(world)) == 1
    assert_rolled_back_to_v1(world, "exec-1")


def test_rollback_removes_the_challenger_of_an_ab_test(world: World) -> None:
    env = world.env("ab")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.run(deploy, {"deployment_id": "exec-1", "action": "ab_step", "step_index": 0}, env)

    rollback_until_done(world, env, {"deployment_id": "exec-1"})

    assert len(rollback_updates(world)) == 1
    assert_rolled_back_to_v1(world, "exec-1")


def test_after_a_silent_rollback_only_pointer_and_history_are_fixed(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.sagemaker_rolls_back()  # already on the previous config
    event = {"deployment_id": "exec-1", "error": {"Error": "SilentRollbackDetected", "Cause": "InService on ..."}}

    result = world.run(rollback, event, env)  # one call: no endpoint update needed

    assert rollback_updates(world) == []
    assert_rolled_back_to_v1(world, "exec-1")
    assert store(world).get("exec-1").reason == "SilentRollbackDetected: InService on ..."
    assert result["rolled_back_model_package_arn"] == world.packages["v2"]


def test_the_recorded_reason_keeps_the_caught_error_next_to_the_given_reason(world: World) -> None:
    # The state machine gives both: a reason for its whole deployment phase and the error its Catch caught (a
    # Lambda error's Cause is JSON); the history must say what actually went wrong.
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.sagemaker_rolls_back()
    cause = '{"errorType": "SilentRollbackDetected", "errorMessage": "InService on the old config"}'
    event = {
        "deployment_id": "exec-1",
        "reason": "the candidate failed verification",
        "error": {"Error": "SilentRollbackDetected", "Cause": cause},
    }

    world.run(rollback, event, env)

    expected = "the candidate failed verification: SilentRollbackDetected: InService on the old config"
    assert store(world).get("exec-1").reason == expected


def test_rollback_twice_rolls_back_once(world: World) -> None:
    env = world.env("shadow")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    first = rollback_until_done(world, env, {"deployment_id": "exec-1"})
    calls = len(world.sagemaker.mutations())

    second = world.run(rollback, {"deployment_id": "exec-1"}, env)

    assert second == first
    assert len(world.sagemaker.mutations()) == calls


def test_rollback_drill_after_two_promotions_restores_the_previous_model_and_pointer(world: World) -> None:
    env = world.env("canary")
    first = deploy_and_promote(world, env, "exec-1", "v2")
    deploy_and_promote(world, env, "exec-2", "v3")

    with pytest.raises(EndpointNotReady, match="rollback requested"):
        world.run(rollback, {"reason": "drill"}, env)  # the on-call command: no id, roll back the champion
    world.sagemaker.finish_update()
    result = world.run(rollback, {}, env)

    assert result["deployment_id"] == "exec-2"
    assert world.sagemaker.endpoint_config_name() == first["endpoint_config_name"]
    assert world.pointer() == world.packages["v2"]
    assert world.sagemaker.package_tags[world.packages["v2"]] == {CHAMPION_TAG: "true"}
    assert world.sagemaker.package_tags[world.packages["v3"]] == {}
    champion = store(world).champion()
    assert champion is not None
    assert (champion.current.deployment_id, champion.current.model_package_arn) == ("exec-1", world.packages["v2"])
    assert champion.previous is not None
    assert (champion.previous.model_package_arn, champion.previous.endpoint_config_name) == (
        world.packages["v1"],
        INITIAL_CONFIG,
    )
    assert store(world).get("exec-2").outcome == "rolled_back"
    assert store(world).get("exec-2").reason == "drill"
    # and once more: the chain goes back to the version CloudFormation deployed
    rollback_until_done(world, env, {})
    assert_rolled_back_to_v1(world, "exec-1")
    with pytest.raises(RollbackImpossible, match="not deployed by the automation"):
        world.run(rollback, {}, env)


def test_a_deleted_pinned_config_is_rebuilt_from_the_pinned_model(world: World) -> None:
    env = world.env("canary")
    deploy_and_promote(world, env, "exec-1", "v2")
    world.sagemaker.delete_endpoint_config(EndpointConfigName=INITIAL_CONFIG)

    rollback_until_done(world, env, {"deployment_id": "exec-1"})

    _, rebuilt = rollback_names(ENDPOINT, "exec-1")
    assert world.sagemaker.endpoint_config_name() == rebuilt
    config = world.sagemaker.describe_endpoint_config(EndpointConfigName=rebuilt)
    assert [(v["VariantName"], v["ModelName"]) for v in config["ProductionVariants"]] == [("primary", INITIAL_MODEL)]
    assert config["DataCaptureConfig"]["DestinationS3Uri"].endswith("/datacapture")
    assert world.ssm.get_parameter(Name=POINTER)["Parameter"]["Value"] == world.packages["v1"]


def test_a_failed_endpoint_needs_a_person(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.set_status("Failed")

    with pytest.raises(EndpointFailed, match="is Failed"):
        world.run(rollback, {"deployment_id": "exec-1"}, env)

    assert rollback_updates(world) == []
    assert store(world).get("exec-1").status == "deploying"

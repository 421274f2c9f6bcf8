"""deploy moves the endpoint once; verify trusts only "InService on the requested config"."""

from __future__ import annotations

import pytest

from lambdas.deployment.deploy import deploy
from lambdas.deployment.endpoint import guardrail_deployment_config
from lambdas.deployment.errors import (
    DeploymentNotFound,
    EndpointFailed,
    EndpointNotReady,
    MalformedRequest,
    SilentRollbackDetected,
    StepOutOfOrder,
)
from lambdas.deployment.prepare import prepare
from lambdas.deployment.settings import Strategy, StrategySettings
from lambdas.deployment.verify import verify
from tests.unit.deployment.conftest import ALARMS, ENDPOINT, INITIAL_CONFIG, World
from tests.unit.deployment.support import prepare_and_deploy


def test_canary_deploy_asks_for_a_guarded_blue_green_update_with_auto_rollback(world: World) -> None:
    env = world.env("canary")
    prepared = world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    result = world.run(deploy, {"deployment_id": "exec-1"}, env)

    [(_, request)] = world.sagemaker.mutations("update_endpoint")
    assert request == {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": prepared["endpoint_config_name"],
        "RetainAllVariantProperties": False,
        "RetainDeploymentConfig": False,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                    "WaitIntervalInSeconds": 600,
                },
                "TerminationWaitInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in ALARMS]},
        },
    }
    assert result == {
        "deployment_id": "exec-1",
        "strategy": "canary",
        "endpoint_name": ENDPOINT,
        "endpoint_config_name": prepared["endpoint_config_name"],
        "update_requested": True,
        "endpoint_status": "InService",
    }


@pytest.mark.parametrize(
    ("strategy", "routing"),
    [
        (Strategy.BLUE_GREEN, {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}),
        (
            Strategy.LINEAR,
            {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
                "WaitIntervalInSeconds": 600,
            },
        ),
    ],
)
def test_traffic_routing_follows_the_strategy(strategy: Strategy, routing: dict[str, object]) -> None:
    config = guardrail_deployment_config(strategy, StrategySettings(strategy=strategy, linear_step_percent=20))

    assert config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == routing
    assert "AutoRollbackConfiguration" not in config  # no alarms configured, none sent (the API needs 1-10)


def test_shadow_deploy_updates_to_the_shadow_config_without_guardrails(world: World) -> None:
    env = world.env("shadow")
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")

    [(_, request)] = world.sagemaker.mutations("update_endpoint")
    assert request == {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": prepared["endpoint_config_name"],
        "RetainAllVariantProperties": False,
    }


def test_deploy_again_while_updating_or_after_success_does_not_update_again(world: World) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")

    while_updating = world.run(deploy, {"deployment_id": "exec-1"}, env)
    world.sagemaker.finish_update()
    after_success = world.run(deploy, {"deployment_id": "exec-1"}, env)

    assert len(world.sagemaker.mutations("update_endpoint")) == 1
    assert (while_updating["update_requested"], after_success["update_requested"]) == (False, False)


def test_deploy_after_a_silent_rollback_reports_it_instead_of_deploying_twice(world: World) -> None:
    env = world.env("canary")
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.sagemaker_rolls_back()

    with pytest.raises(SilentRollbackDetected, match=f"InService on endpoint config '{INITIAL_CONFIG}'"):
        world.run(deploy, {"deployment_id": "exec-1"}, env)

    assert len(world.sagemaker.mutations("update_endpoint")) == 1
    assert world.sagemaker.endpoint_config_name() != prepared["endpoint_config_name"]


def test_verify_waits_while_updating_then_confirms_the_requested_config(world: World) -> None:
    env = world.env("canary")
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")

    with pytest.raises(
        EndpointNotReady, match=f"Updating \\(towards endpoint config '{prepared['endpoint_config_name']}'"
    ):
        world.run(verify, {"deployment_id": "exec-1"}, env)
    world.sagemaker.finish_update()
    result = world.run(verify, {"deployment_id": "exec-1"}, env)

    assert result == {
        "deployment_id": "exec-1",
        "endpoint_name": ENDPOINT,
        "endpoint_config_name": prepared["endpoint_config_name"],
        "endpoint_status": "InService",
        "verified": True,
    }


def test_verify_detects_a_silent_rollback_and_names_both_configs(world: World) -> None:
    env = world.env("canary")
    prepared = prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.sagemaker_rolls_back()  # InService, on the previous config, no FailureReason

    with pytest.raises(SilentRollbackDetected) as caught:
        world.run(verify, {"deployment_id": "exec-1"}, env)

    message = str(caught.value)
    assert f"InService on endpoint config '{INITIAL_CONFIG}'" in message
    assert f"not on the requested '{prepared['endpoint_config_name']}'" in message
    [item] = [i for i in world.history_items() if i["sk"]["S"].startswith("DEPLOYMENT#")]
    assert "SilentRollbackDetected" in item["last_error"]["S"]


@pytest.mark.parametrize("status", ["Failed", "UpdateRollbackFailed"])
def test_verify_reports_a_failed_endpoint(world: World, status: str) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.set_status(status)

    with pytest.raises(EndpointFailed, match=f"is {status}"):
        world.run(verify, {"deployment_id": "exec-1"}, env)


@pytest.mark.parametrize("status", ["Creating", "SystemUpdating", "RollingBack"])
def test_verify_retries_every_transitional_status(world: World, status: str) -> None:
    env = world.env("canary")
    prepare_and_deploy(world, env, "exec-1", "v2")
    world.sagemaker.finish_update()
    world.sagemaker.set_status(status)

    with pytest.raises(EndpointNotReady, match=status):
        world.run(verify, {"deployment_id": "exec-1"}, env)


def test_steps_refuse_unknown_or_unprepared_deployments(world: World) -> None:
    env = world.env("canary")
    with pytest.raises(DeploymentNotFound, match=r"no deployment 'nope'.*run prepare first"):
        world.run(deploy, {"deployment_id": "nope"}, env)
    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)
    with pytest.raises(StepOutOfOrder, match="has not asked for an endpoint update"):
        world.run(verify, {"deployment_id": "exec-1"}, env)
    with pytest.raises(MalformedRequest, match="action: 'explode'"):
        world.run(deploy, {"deployment_id": "exec-1", "action": "explode"}, env)
    assert world.sagemaker.mutations("update_endpoint") == []

"""The idle schedule's sleep and wake (ADR 0020) on the moto serving world, and a deployment into a sleeping
endpoint: prepare wakes it and waits (EndpointNotReady, which the state machine retries)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lambdas.deployment.errors import EndpointNotFound, EndpointNotReady, MalformedRequest
from lambdas.deployment.idle import run
from lambdas.deployment.prepare import prepare
from tests.unit.deployment.conftest import ENDPOINT, INITIAL_CONFIG, World

NIGHT = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)


def endpoint_names(world: World) -> list[str]:
    return [e["EndpointName"] for e in world.sagemaker.list_endpoints()["Endpoints"]]


def test_sleep_deletes_the_endpoint_and_wake_recreates_it_on_the_same_config_with_its_tags(world: World) -> None:
    env = world.env()

    slept = run({"action": "sleep"}, env=env, aws=world.aws, now=NIGHT)

    assert slept == {
        "endpoint_name": ENDPOINT,
        "action": "sleep",
        "outcome": "deleted",
        "endpoint_config_name": INITIAL_CONFIG,
    }
    assert ENDPOINT not in endpoint_names(world)

    woken = run({"action": "wake"}, env=env, aws=world.aws, now=NIGHT)

    assert woken["outcome"] == "created"
    assert world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == INITIAL_CONFIG
    arn = world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in world.sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    # The config's mlops:* tags, not CloudFormation's own (aws:* keys cannot be set by a caller).
    assert tags == {
        "mlops:model": "fraud-detection",
        "mlops:owner": "risk-ml-oncall@example.com",
        "mlops:environment": "dev",
    }


def test_sleep_and_wake_are_idempotent(world: World) -> None:
    env = world.env()
    run({"action": "sleep"}, env=env, aws=world.aws, now=NIGHT)

    assert run({"action": "sleep"}, env=env, aws=world.aws, now=NIGHT)["outcome"] == "asleep"
    run({"action": "wake"}, env=env, aws=world.aws, now=NIGHT)
    assert run({"action": "wake"}, env=env, aws=world.aws, now=NIGHT)["outcome"] == "awake"
    assert endpoint_names(world) == [ENDPOINT]


def test_a_running_deployment_keeps_the_endpoint_up(world: World) -> None:
    env = world.env()
    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    result = run({"action": "sleep"}, env=env, aws=world.aws, now=NIGHT)

    assert result["outcome"] == "busy"
    assert endpoint_names(world) == [ENDPOINT]


def test_an_endpoint_that_is_updating_is_left_alone(world: World) -> None:
    world.sagemaker.set_status("Updating")

    assert run({"action": "sleep"}, env=world.env(), aws=world.aws, now=NIGHT)["outcome"] == "busy"
    assert endpoint_names(world) == [ENDPOINT]


def test_a_deployment_into_a_sleeping_endpoint_wakes_it_then_proceeds(world: World) -> None:
    env = world.env()
    run({"action": "sleep"}, env=env, aws=world.aws, now=NIGHT)
    event = {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}

    with pytest.raises(EndpointNotReady, match="was asleep"):
        world.run(prepare, event, env)

    assert world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == INITIAL_CONFIG
    # The state machine retries prepare; the endpoint serves again, so the deployment is prepared.
    result = world.run(prepare, event, env)
    assert result["previous_endpoint_config_name"] == INITIAL_CONFIG


def test_without_a_recorded_sleep_a_missing_endpoint_is_not_woken(world: World) -> None:
    world.sagemaker.delete_endpoint(EndpointName=ENDPOINT)

    with pytest.raises(EndpointNotFound, match="no sleep recorded"):
        run({"action": "wake"}, env=world.env(), aws=world.aws, now=NIGHT)
    with pytest.raises(EndpointNotFound, match="not asleep"):
        world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, world.env())


def test_an_unknown_action_is_refused(world: World) -> None:
    with pytest.raises(MalformedRequest, match="action must be"):
        run({"action": "nap"}, env=world.env(), aws=world.aws, now=NIGHT)

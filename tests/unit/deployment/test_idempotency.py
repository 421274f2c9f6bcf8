"""Re-invoking any step (a Lambda retry, a redriven execution) never deploys twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from lambdas.deployment.compare import compare
from lambdas.deployment.deploy import deploy
from lambdas.deployment.errors import EndpointNotReady
from lambdas.deployment.prepare import prepare
from lambdas.deployment.promote import promote
from lambdas.deployment.rollback import rollback
from lambdas.deployment.settings import DeploymentEnv
from lambdas.deployment.verify import verify
from tests.unit.deployment.conftest import World
from tests.unit.deployment.support import healthy_evidence

Step = Callable[..., dict[str, Any]]


def twice(world: World, step: Step, event: dict[str, Any], env: DeploymentEnv) -> dict[str, Any]:
    """Call a step twice; when it asks to be retried (EndpointNotReady), SageMaker finishes, then retry twice.

    The second result equals the first except that ``deploy`` reports ``update_requested: false`` (and the
    endpoint status it saw), as it did not ask SageMaker for anything."""
    try:
        first = world.run(step, event, env)
    except EndpointNotReady:
        world.sagemaker.finish_update()
        first = world.run(step, event, env)
    second = world.run(step, event, env)
    if step is deploy:
        assert second["update_requested"] is False
        first = {**first, "update_requested": False}
        if "endpoint_status" in second:
            first["endpoint_status"] = second["endpoint_status"]
    assert second == first
    return second


def mutation_counts(world: World) -> Counter[str]:
    return Counter(method for method, _ in world.sagemaker.mutations())


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("canary", {"create_model": 1, "create_endpoint_config": 1, "update_endpoint": 1}),
        ("shadow", {"create_model": 1, "create_endpoint_config": 2, "update_endpoint": 2}),
        (
            "ab",
            {
                "create_model": 1,
                "create_endpoint_config": 2,
                "update_endpoint": 2,
                "update_endpoint_weights_and_capacities": 3,
            },
        ),
    ],
)
def test_every_step_twice_deploys_once(world: World, strategy: str, expected: dict[str, int]) -> None:
    env = world.env(strategy)
    candidate = {"shadow": "shadow", "ab": "challenger"}.get(strategy)
    event = {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}

    twice(world, prepare, event, env)
    twice(world, deploy, event, env)
    world.sagemaker.finish_update()
    twice(world, verify, event, env)
    if strategy == "ab":
        for index in range(3):
            twice(world, deploy, {**event, "action": "ab_step", "step_index": index}, env)
            healthy_evidence(world, "challenger", at=world.now)
            world.run(compare, {**event, "window_end": world.now.isoformat()}, env)
    elif candidate:
        healthy_evidence(world, candidate, at=world.now)
        world.run(compare, {**event, "window_end": world.now.isoformat()}, env)
    twice(world, promote, event, env)

    assert mutation_counts(world) == Counter({**expected, "add_tags": 1, "delete_tags": 1})
    assert world.pointer() == world.packages["v2"]


def test_rollback_twice_after_promotion_rolls_back_once(world: World) -> None:
    env = world.env("blue_green")
    event = {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}
    world.run(prepare, event, env)
    world.run(deploy, event, env)
    world.sagemaker.finish_update()
    world.run(promote, event, env)
    before = mutation_counts(world)

    twice(world, rollback, {"deployment_id": "exec-1"}, env)

    assert mutation_counts(world) - before == Counter({"update_endpoint": 1, "add_tags": 1, "delete_tags": 1})
    assert world.pointer() == world.packages["v1"]

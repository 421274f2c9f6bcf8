"""Isolated environments: the Models prepare creates run in the VPC (MODEL_SUBNETS / MODEL_SECURITY_GROUPS, which
the serving stack sets from the platform network); without them, no VpcConfig (public environments, ADR 0019)."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.deployment.errors import ConfigurationError
from lambdas.deployment.prepare import prepare
from lambdas.deployment.settings import DeploymentEnv
from tests.unit.deployment.conftest import World, environ

SUBNETS = "subnet-0aaaaaaaaaaaaaaa1, subnet-0bbbbbbbbbbbbbbb2"
GROUP = "sg-0ccccccccccccccc3"


def isolated_env(strategy: str = "canary") -> DeploymentEnv:
    return DeploymentEnv.from_env({**environ(strategy), "MODEL_SUBNETS": SUBNETS, "MODEL_SECURITY_GROUPS": GROUP})


def created_models(world: World) -> list[dict[str, Any]]:
    return [params for _, params in world.sagemaker.mutations("create_model")]


def test_an_isolated_environment_creates_the_candidate_model_in_its_subnets(world: World) -> None:
    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, isolated_env())

    [model] = created_models(world)
    assert model["VpcConfig"] == {
        "Subnets": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
        "SecurityGroupIds": ["sg-0ccccccccccccccc3"],
    }
    assert model["EnableNetworkIsolation"] is True


def test_a_public_environment_creates_it_without_a_vpc(world: World) -> None:
    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, world.env())

    [model] = created_models(world)
    assert "VpcConfig" not in model


@pytest.mark.parametrize(
    "variables",
    [
        {"MODEL_SUBNETS": SUBNETS},
        {"MODEL_SECURITY_GROUPS": GROUP},
        {"MODEL_SUBNETS": ",".join(f"subnet-{i}" for i in range(17)), "MODEL_SECURITY_GROUPS": GROUP},
    ],
)
def test_a_half_or_oversized_vpc_is_a_configuration_error(variables: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match=r"MODEL_SUBNETS|VpcConfig"):
        DeploymentEnv.from_env({**environ(), **variables})


def test_empty_variables_mean_no_vpc() -> None:
    env = DeploymentEnv.from_env({**environ(), "MODEL_SUBNETS": " ", "MODEL_SECURITY_GROUPS": ""})
    assert env.model_vpc is None

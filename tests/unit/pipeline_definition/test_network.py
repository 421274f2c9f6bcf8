"""In an isolated environment every job of the pipeline runs in the platform's subnets and security group, with
traffic between instances encrypted; in a public one no job names a VPC (ADR 0019). The per-spec template the
synth reuses gives the same bytes as a direct SDK build with the environment's network."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from config import DEV, FRAUD_DETECTION, PROD, STAGING, Environment, ModelDeployment
from pipeline_defs.definition import (
    PipelineContext,
    build_pipeline_definition,
    build_pipeline_definition_directly,
)
from pipeline_defs.validate import validate_definition
from tests.unit.pipeline_definition.conftest import SUBSTITUTIONS, context_for, steps_by_name, walk


def isolated_context(env: Environment) -> PipelineContext:
    zones = len(env.network.zones)
    return replace(
        context_for(env),
        subnets=tuple(f"${{Subnet{i}}}" for i in range(zones)),
        security_group_ids=("${SecurityGroup}",),
    )


@pytest.fixture(scope="module")
def prod_isolated() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=PROD), isolated_context(PROD))
    )
    return document


def test_every_processing_step_runs_in_the_subnets_with_encrypted_inter_container_traffic(
    prod_isolated: dict[str, Any],
) -> None:
    processing = [s for s in steps_by_name(prod_isolated).values() if s["Type"] == "Processing"]
    assert len(processing) == 6
    for step in processing:
        assert step["Arguments"]["NetworkConfig"] == {
            "EnableInterContainerTrafficEncryption": True,
            # Off on purpose: the Dataset step calls Athena through the VPC endpoint.
            "EnableNetworkIsolation": False,
            "VpcConfig": {
                "SecurityGroupIds": ["${SecurityGroup}"],
                "Subnets": ["${Subnet0}", "${Subnet1}", "${Subnet2}"],
            },
        }, step["Name"]


def test_the_training_step_runs_in_the_subnets_too(prod_isolated: dict[str, Any]) -> None:
    train = steps_by_name(prod_isolated)["Train"]["Arguments"]
    assert train["VpcConfig"] == {
        "SecurityGroupIds": ["${SecurityGroup}"],
        "Subnets": ["${Subnet0}", "${Subnet1}", "${Subnet2}"],
    }
    assert train["EnableInterContainerTrafficEncryption"] is True


def test_an_isolated_definition_validates_and_names_only_the_contexts_placeholders(
    prod_isolated: dict[str, Any],
) -> None:
    substitutions = {**SUBSTITUTIONS, "${SecurityGroup}": "sg-0123456789abcdef0"}
    substitutions.update({f"${{Subnet{i}}}": f"subnet-0{i:016x}" for i in range(3)})
    assert validate_definition(prod_isolated, substitutions=substitutions) == []
    text = json.dumps(prod_isolated)
    assert "mlops-sentinel" not in text


def test_a_public_environment_names_no_vpc() -> None:
    document = json.loads(build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), context_for(DEV)))
    for node in walk(document):
        if isinstance(node, dict):
            assert "VpcConfig" not in node
            assert "NetworkConfig" not in node


@pytest.mark.parametrize("env", [DEV, STAGING, PROD], ids=lambda e: e.name)
def test_the_cached_template_with_the_network_put_in_equals_a_direct_build(env: Environment) -> None:
    context = isolated_context(env) if env.network.isolated else context_for(env)
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=env)
    assert build_pipeline_definition(deployment, context) == build_pipeline_definition_directly(deployment, context)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subnets": ("${Subnet0}",)}, "subnets and security_group_ids go together"),
        ({"security_group_ids": ("sg-1",)}, "subnets and security_group_ids go together"),
        ({"subnets": ("$Subnet0",), "security_group_ids": ("sg-1",)}, "has a '\\$' outside a placeholder"),
    ],
)
def test_a_half_or_malformed_network_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(context_for(PROD), **changes)

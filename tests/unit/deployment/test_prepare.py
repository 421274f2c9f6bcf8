"""prepare: validates the package, then creates the candidate Model and configs copied from the live config."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lambdas.deployment.errors import (
    DeploymentConflict,
    EndpointNotFound,
    EndpointNotReady,
    MalformedRequest,
    PackageNotApproved,
    PackageNotFound,
    PackageNotInGroup,
)
from lambdas.deployment.names import deployment_names
from lambdas.deployment.prepare import prepare
from lambdas.deployment.settings import Strategy
from tests.unit.deployment.conftest import (
    ENDPOINT,
    INITIAL_CONFIG,
    INITIAL_MODEL,
    KMS_KEY,
    LIVE_CAPTURE,
    ROLE,
    World,
)


def created(world: World, method: str) -> list[dict[str, Any]]:
    return [params for _, params in world.sagemaker.mutations(method)]


def test_canary_prepare_creates_an_isolated_model_and_a_config_copied_from_the_live_one(world: World) -> None:
    env = world.env("canary")

    result = world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    names = deployment_names(ENDPOINT, "exec-1", Strategy.CANARY)
    [model] = created(world, "create_model")
    assert model["ModelName"] == names.model
    assert model["PrimaryContainer"] == {"ModelPackageName": world.packages["v2"]}
    assert model["ExecutionRoleArn"] == ROLE
    assert model["EnableNetworkIsolation"] is True
    assert model["Tags"] == [
        {"Key": "mlops:model", "Value": "fraud-detection"},
        {"Key": "mlops:owner", "Value": "risk-ml-oncall@example.com"},
        {"Key": "mlops:environment", "Value": "dev"},
        {"Key": "mlops:deployment-id", "Value": "exec-1"},
    ]
    [config] = created(world, "create_endpoint_config")
    assert config["EndpointConfigName"] == names.final_config == names.deploy_config
    assert config["ProductionVariants"] == [
        {
            "VariantName": "primary",
            "ModelName": names.model,
            "InitialVariantWeight": 1.0,
            "InitialInstanceCount": 2,
            "InstanceType": "ml.m5.large",
            "VolumeSizeInGB": 8,
        }
    ]
    assert config["DataCaptureConfig"] == LIVE_CAPTURE
    assert config["KmsKeyId"] == KMS_KEY
    assert result == {
        "deployment_id": "exec-1",
        "model_package_arn": world.packages["v2"],
        "previous_model_package_arn": world.packages["v1"],
        "strategy": "canary",
        "status": "prepared",
        "started_at": "2026-03-01T12:01:00.000000Z",
        "endpoint_name": ENDPOINT,
        "variant_name": "primary",
        "candidate_variant_name": None,
        "model_name": names.model,
        "endpoint_config_name": names.final_config,
        "final_endpoint_config_name": names.final_config,
        "previous_endpoint_config_name": INITIAL_CONFIG,
    }
    assert world.sagemaker.mutations("update_endpoint") == []  # the endpoint is untouched


def test_shadow_prepare_keeps_the_live_variant_and_adds_the_candidate_as_a_shadow_variant(world: World) -> None:
    env = world.env("shadow", shadow={"sampling_percent": 50.0})

    result = world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    names = deployment_names(ENDPOINT, "exec-1", Strategy.SHADOW)
    configs = {c["EndpointConfigName"]: c for c in created(world, "create_endpoint_config")}
    staged = configs[names.deploy_config]
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in staged["ProductionVariants"]] == [
        ("primary", INITIAL_MODEL, 1.0)
    ]
    [shadow] = staged["ShadowProductionVariants"]
    assert (shadow["VariantName"], shadow["ModelName"], shadow["InitialVariantWeight"]) == ("shadow", names.model, 0.5)
    assert (shadow["InstanceType"], shadow["InitialInstanceCount"]) == ("ml.m5.large", 2)
    assert staged["DataCaptureConfig"] == LIVE_CAPTURE
    final = configs[names.final_config]
    assert [(v["VariantName"], v["ModelName"]) for v in final["ProductionVariants"]] == [("primary", names.model)]
    assert "ShadowProductionVariants" not in final
    assert result["candidate_variant_name"] == "shadow"
    assert result["endpoint_config_name"] == names.deploy_config


def test_ab_prepare_starts_the_challenger_at_weight_zero_next_to_the_champion(world: World) -> None:
    env = world.env("ab")

    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    names = deployment_names(ENDPOINT, "exec-1", Strategy.AB)
    staged = next(c for c in created(world, "create_endpoint_config") if c["EndpointConfigName"] == names.deploy_config)
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in staged["ProductionVariants"]] == [
        ("primary", INITIAL_MODEL, 1.0),
        ("challenger", names.model, 0.0),
    ]
    assert staged["KmsKeyId"] == KMS_KEY


def test_prepare_twice_reuses_everything_and_creates_nothing_more(world: World) -> None:
    env = world.env("shadow")
    event = {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}
    first = world.run(prepare, event, env)
    calls = len(world.sagemaker.mutations())

    second = world.run(prepare, event, env)

    assert second == first
    assert len(world.sagemaker.mutations()) == calls == 3  # one model, two configs, once


def test_a_deployment_id_cannot_be_reused_for_another_package(world: World) -> None:
    env = world.env("canary")
    world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, env)

    with pytest.raises(DeploymentConflict, match=r"exec-1.*prepared for"):
        world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v3"]}, env)


@pytest.mark.parametrize(
    ("package", "error", "message"),
    [
        ("unknown", PackageNotFound, r"model-package/fraud-detection-dev/99 does not exist"),
        ("pending", PackageNotApproved, r"'PendingManualApproval', not 'Approved'"),
        ("other-group", PackageNotInGroup, r"belongs to group 'churn-dev', not to 'fraud-detection-dev'"),
    ],
)
def test_a_package_that_cannot_serve_is_refused_and_nothing_is_created(
    world: World, package: str, error: type[Exception], message: str
) -> None:
    env = world.env("canary")
    arn = world.packages.get(package, world.packages["v1"].rsplit("/", 1)[0] + "/99")

    with pytest.raises(error, match=message):
        world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": arn}, env)

    assert world.sagemaker.mutations() == []
    assert world.history_items() == []


def test_a_missing_endpoint_is_a_typed_error_and_nothing_is_created(world: World) -> None:
    world.sagemaker.delete_endpoint(EndpointName=ENDPOINT)

    with pytest.raises(EndpointNotFound, match=f"endpoint '{ENDPOINT}' does not exist"):
        world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, world.env())

    assert world.sagemaker.mutations() == []
    assert world.history_items() == []


def test_prepare_waits_while_the_endpoint_is_updating(world: World) -> None:
    world.sagemaker.set_status("Updating")

    with pytest.raises(EndpointNotReady, match="Updating"):
        world.run(prepare, {"deployment_id": "exec-1", "model_package_arn": world.packages["v2"]}, world.env())

    assert world.sagemaker.mutations() == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"}, "deployment_id: missing"),
        ({"deployment_id": "exec 1", "model_package_arn": "x"}, "deployment_id: 'exec 1' must be"),
        ({"deployment_id": "exec-1"}, "model_package_arn: missing"),
        ({"deployment_id": "exec-1", "model_package_arn": "arn:aws:s3:::bucket"}, "is not a versioned SageMaker"),
        ({"deployment_id": "exec-1", "model_package_arn": 42}, "model_package_arn: 42"),
    ],
)
def test_a_malformed_event_names_the_field_and_changes_nothing(
    world: World, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedRequest, match=message):
        world.run(prepare, event, world.env())

    assert world.sagemaker.mutations() == []
    assert world.history_items() == []


@pytest.mark.parametrize("endpoint", ["fraud-detection-dev", "a" * 63, "x"])
def test_derived_names_are_deterministic_valid_and_distinct(endpoint: str) -> None:
    names = [deployment_names(endpoint, run, strategy) for run in ("exec-1", "exec-2") for strategy in Strategy]

    every = {n for d in names for n in (d.model, d.deploy_config, d.final_config)}
    assert all(len(n) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", n) for n in every)
    assert (
        deployment_names(endpoint, "exec-1", Strategy.AB) == names[list(Strategy).index(Strategy.AB)]
    )  # same id, same names
    assert len({d.model for d in names}) == 2  # one model per deployment id

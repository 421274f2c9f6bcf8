"""Promotion and rollback publish the serving model's baselines to the current-baseline prefix."""

from __future__ import annotations

import json

import pytest

from lambdas.deployment.settings import DeploymentEnv
from tests.unit.deployment.conftest import GROUP, REGION, World, environ
from tests.unit.deployment.support import deploy_and_promote, rollback_until_done

CURRENT = "s3://mlops-artifacts/baselines/fraud-detection/current"


def register_with_baselines(world: World, version: str) -> str:
    """A package whose pipeline run left drift-check baselines in S3 (content names the version)."""
    uris = {}
    for name in ("data-quality/statistics.json", "data-quality/constraints.json", "model-quality/constraints.json"):
        key = f"{version}/baseline/{name}"
        world.s3.put_object(Bucket="pipeline-runs", Key=key, Body=json.dumps({"version": version, "file": name}))
        uris[name] = {"ContentType": "application/json", "S3Uri": f"s3://pipeline-runs/{key}"}
    return str(
        world.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://pipeline-runs/{version}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            DriftCheckBaselines={
                "ModelDataQuality": {
                    "Statistics": uris["data-quality/statistics.json"],
                    "Constraints": uris["data-quality/constraints.json"],
                },
                "ModelQuality": {"Constraints": uris["model-quality/constraints.json"]},
            },
        )["ModelPackageArn"]
    )


def current(world: World, name: str) -> str:
    body = world.s3.get_object(Bucket="mlops-artifacts", Key=f"baselines/fraud-detection/current/{name}")["Body"]
    return str(json.loads(body.read())["version"])


@pytest.fixture
def baseline_world(world: World) -> World:
    world.s3.create_bucket(Bucket="mlops-artifacts")
    world.s3.create_bucket(Bucket="pipeline-runs")
    world.packages["b2"] = register_with_baselines(world, "v2")
    world.packages["b3"] = register_with_baselines(world, "v3")
    return world


def test_promotion_publishes_the_new_champions_baselines_before_the_pointer_moves(baseline_world: World) -> None:
    env = DeploymentEnv.from_env({**environ("canary"), "CURRENT_BASELINE_S3_URI": CURRENT})
    deploy_and_promote(baseline_world, env, "exec-1", "b2")
    for name in ("data-quality/statistics.json", "data-quality/constraints.json", "model-quality/constraints.json"):
        assert current(baseline_world, name) == "v2"
    deploy_and_promote(baseline_world, env, "exec-2", "b3")
    assert current(baseline_world, "data-quality/statistics.json") == "v3"


def test_rollback_restores_the_previous_models_baselines(baseline_world: World) -> None:
    env = DeploymentEnv.from_env({**environ("canary"), "CURRENT_BASELINE_S3_URI": CURRENT})
    deploy_and_promote(baseline_world, env, "exec-1", "b2")
    deploy_and_promote(baseline_world, env, "exec-2", "b3")
    rollback_until_done(baseline_world, env, {})
    assert baseline_world.pointer() == baseline_world.packages["b2"]
    assert current(baseline_world, "model-quality/constraints.json") == "v2"


def test_a_package_without_baselines_leaves_the_current_ones(baseline_world: World) -> None:
    env = DeploymentEnv.from_env({**environ("canary"), "CURRENT_BASELINE_S3_URI": CURRENT})
    deploy_and_promote(baseline_world, env, "exec-1", "b2")
    deploy_and_promote(baseline_world, env, "exec-2", "v3")  # registered without DriftCheckBaselines
    assert baseline_world.pointer() == baseline_world.packages["v3"]
    assert current(baseline_world, "data-quality/constraints.json") == "v2"


def test_a_malformed_baseline_location_is_a_configuration_error() -> None:
    from lambdas.deployment.errors import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="CURRENT_BASELINE_S3_URI"):
        DeploymentEnv.from_env({**environ("canary"), "CURRENT_BASELINE_S3_URI": "mlops-artifacts/baselines"})

"""The bootstrap package in the deployment loop, produced by the real bootstrap tool: promote and rollback publish
its baselines to the current-baseline prefix monitoring reads (the layout rule of ModelDeployment; the IAM side of
the same seam is tests/infra/test_registered_artifacts.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from config import DEV, FRAUD_DETECTION, ModelDeployment
from config.naming import bucket_name
from lambdas.deployment.deploy import deploy
from lambdas.deployment.prepare import prepare
from lambdas.deployment.promote import promote
from lambdas.deployment.settings import DeploymentEnv
from lambdas.deployment.verify import verify
from mlops_constructs.monitoring_common import current_baseline_prefix
from tests.support.baselines import tagged_baselines
from tests.support.trained import train_run
from tests.unit.deployment.conftest import World, build_world, environ
from tests.unit.deployment.support import deploy_and_promote, rollback_until_done
from tools.bootstrap_serving import BASELINE_FILES, bootstrap

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
ARTIFACTS = bucket_name(DEV, "Artifacts")
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
FILES = [name for *_, name in BASELINE_FILES]


def baselines(root: Path, origin: str) -> Path:
    """What the pipeline's Baseline step writes (the bootstrap checks it), each file tagged with its origin."""
    return tagged_baselines(root, origin=origin)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The endpoint serves the package the real bootstrap tool registered."""

    def bootstrapped(world: World) -> str:
        world.s3.create_bucket(Bucket=ARTIFACTS)
        run = train_run(FRAUD_DETECTION, tmp_path / "run")
        result = bootstrap(
            DEPLOYMENT,
            artifact=run / "model" / "model.tar.gz",
            baselines=baselines(tmp_path / "bootstrap", "bootstrap"),
            image_uri=IMAGE,
            s3=world.s3,
            sagemaker=world.sagemaker._client,
            ssm=world.ssm,
        )
        return result.model_package_arn

    with mock_aws():
        yield build_world(serving_package=bootstrapped)


def env(strategy: str = "canary") -> DeploymentEnv:
    uri = f"s3://{ARTIFACTS}/{current_baseline_prefix(DEPLOYMENT)}"
    return DeploymentEnv.from_env({**environ(strategy), "CURRENT_BASELINE_S3_URI": uri})


def pipeline_package(world: World) -> str:
    """A package as the pipeline registers one: its files under an execution's folder of the registered prefix."""
    run = f"{DEPLOYMENT.registered_artifacts_prefix}/exec0000002"
    drift: dict[str, dict[str, dict[str, str]]] = {}
    for section, kind, name in BASELINE_FILES:
        world.s3.put_object(Bucket=ARTIFACTS, Key=f"{run}/baselines/{name}", Body=json.dumps({"origin": "v2"}))
        drift.setdefault(section, {})[kind] = {
            "ContentType": "application/json",
            "S3Uri": f"s3://{ARTIFACTS}/{run}/baselines/{name}",
        }
    arn = world.sagemaker.create_model_package(
        ModelPackageGroupName=DEPLOYMENT.model_package_group_name,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{ARTIFACTS}/{run}/model/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines=drift,
    )["ModelPackageArn"]
    return str(arn)


def current_baselines(world: World) -> dict[str, Any]:
    prefix = current_baseline_prefix(DEPLOYMENT)
    return {
        name: json.loads(world.s3.get_object(Bucket=ARTIFACTS, Key=f"{prefix}/{name}")["Body"].read())["origin"]
        for name in FILES
    }


def test_rolling_back_to_the_bootstrap_package_publishes_its_baselines(world: World) -> None:
    world.packages["v2"] = pipeline_package(world)
    deploy_and_promote(world, env(), "exec-2", "v2")
    assert set(current_baselines(world).values()) == {"v2"}

    result = rollback_until_done(world, env(), {"deployment_id": "exec-2", "reason": "v2 misbehaves"})

    assert result["restored_model_package_arn"] == world.packages["v1"]  # the bootstrap package
    assert world.pointer() == world.packages["v1"]
    assert set(current_baselines(world).values()) == {"bootstrap"}


def test_promoting_the_bootstrap_package_again_publishes_its_baselines(world: World) -> None:
    world.packages["v2"] = pipeline_package(world)
    deploy_and_promote(world, env(), "exec-2", "v2")

    world.run(prepare, {"deployment_id": "exec-3", "model_package_arn": world.packages["v1"]}, env())
    world.run(deploy, {"deployment_id": "exec-3"}, env())
    world.sagemaker.finish_update()
    world.run(verify, {"deployment_id": "exec-3"}, env())
    world.run(promote, {"deployment_id": "exec-3"}, env())

    assert world.pointer() == world.packages["v1"]
    assert set(current_baselines(world).values()) == {"bootstrap"}

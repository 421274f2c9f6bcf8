"""The bootstrap's S3 layout against the roles that read registered artifacts (defects: the pipeline could not
download a bootstrap champion, promote and rollback could not copy its baselines).

The producer is the real bootstrap tool, run under moto for the environment; the consumers are the synthesized
roles that read what a registered package names: the pipeline (Evaluate downloads the champion's model.tar.gz),
the serving model, promote and rollback (they copy the package's drift-check baselines to the current-baseline
prefix) and the monitoring jobs of either backend (they read the current baselines the bootstrap also wrote).
Each must be allowed ``s3:GetObject`` on the exact keys the tool wrote, and ``kms:Decrypt`` on the platform key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from config import DEV, FRAUD_DETECTION, PROD, Environment, ModelDeployment
from config.naming import bucket_name
from mlops_constructs.monitoring_common import current_baseline_prefix
from tests.support.baselines import baseline_step_outputs
from tests.support.iam_policies import Grant, grants, role_id
from tests.support.synth import Synthesized
from tests.support.trained import train_run
from tools.bootstrap_serving import BASELINE_FILES, bootstrap

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PIPELINE_ROLE = "Runs the fraud-detection-dev-training pipeline and its jobs"


@dataclass(frozen=True)
class Bootstrapped:
    """What the bootstrap wrote, as the consumers find it: through the package and the current prefix."""

    bucket: str
    model_key: str  # the package's ModelDataUrl
    baseline_keys: tuple[str, ...]  # the package's DriftCheckBaselines
    current_keys: tuple[str, ...]  # the current baselines monitoring reads
    all_keys: tuple[str, ...]


def run_bootstrap(env: Environment, tmp_path: Path) -> Bootstrapped:
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=env)
    bucket = bucket_name(env, "Artifacts")
    artifact = train_run(FRAUD_DETECTION, tmp_path / "run") / "model" / "model.tar.gz"
    # What the pipeline's Baseline step writes (the bootstrap refuses a baseline not of the spec's columns).
    baselines = baseline_step_outputs(tmp_path / "baseline-step")
    with mock_aws():
        session = boto3.Session(region_name=env.region)
        s3, sagemaker, ssm = (session.client(s) for s in ("s3", "sagemaker", "ssm"))
        s3.create_bucket(Bucket=bucket)
        sagemaker.create_model_package_group(ModelPackageGroupName=deployment.model_package_group_name)
        result = bootstrap(
            deployment,
            artifact=artifact,
            baselines=baselines,
            image_uri=IMAGE,
            s3=s3,
            sagemaker=sagemaker,
            ssm=ssm,
            force_demo=True,  # prod too: a locally registered package (--force-demo) must be readable there as well
        )
        package = sagemaker.describe_model_package(ModelPackageName=result.model_package_arn)
        written = tuple(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    prefix = f"s3://{bucket}/"
    baselines = [kind["S3Uri"] for section in package["DriftCheckBaselines"].values() for kind in section.values()]
    return Bootstrapped(
        bucket=bucket,
        model_key=package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].removeprefix(prefix),
        baseline_keys=tuple(uri.removeprefix(prefix) for uri in baselines),
        current_keys=tuple(k for k in written if k.startswith(current_baseline_prefix(deployment))),
        all_keys=written,
    )


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Bootstrapped]:
    return {env.name: run_bootstrap(env, tmp_path_factory.mktemp(env.name)) for env in (DEV, PROD)}


def statements(synthesized: Synthesized, env: str, stack: str, description: str) -> list[Grant]:
    role = role_id(synthesized.json(env, stack), description)
    return [g for g in grants(synthesized) if g.where.startswith(f"{env}/") and role in g.roles]


def denied(role: list[Grant], action: str, keys: tuple[str, ...], bucket: str) -> list[str]:
    return [k for k in keys if not any(g.allows(action, f"arn:aws:s3:::{bucket}/{k}") for g in role)]


def can_decrypt_with_the_platform_key(role: list[Grant], env: Environment) -> bool:
    key = f"arn:aws:kms:{env.region}:{env.account}:key/platform"
    return any(g.allows("kms:Decrypt", key) for g in role)


def test_the_bootstrap_writes_only_under_the_registered_and_current_prefixes(
    bootstrapped: dict[str, Bootstrapped],
) -> None:
    dev = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
    written = bootstrapped["dev"]
    assert written.model_key == f"{dev.registered_artifacts_prefix}/bootstrap/model.tar.gz"
    assert {*written.all_keys} == {written.model_key, *written.baseline_keys, *written.current_keys}
    assert len(written.baseline_keys) == len(written.current_keys) == len(BASELINE_FILES)


@pytest.mark.parametrize(
    ("stack", "description", "reads"),
    [
        ("fraud-detection-training", PIPELINE_ROLE, "model"),
        ("fraud-detection-serving", "Execution role of the fraud-detection-dev models", "model"),
        (
            "fraud-detection-serving",
            "fraud-detection-dev deployment step: promote (Lambda execution role)",
            "baselines",
        ),
        (
            "fraud-detection-serving",
            "fraud-detection-dev deployment step: rollback (Lambda execution role)",
            "baselines",
        ),
        ("fraud-detection-monitoring", "Drift monitoring jobs of fraud-detection-dev", "current"),
    ],
)
def test_every_reader_of_the_bootstrap_package_may_read_what_it_wrote(
    synth: Synthesized, bootstrapped: dict[str, Bootstrapped], stack: str, description: str, reads: str
) -> None:
    written = bootstrapped["dev"]
    keys = {
        "model": (written.model_key,),
        "baselines": written.baseline_keys,
        "current": written.current_keys,
    }[reads]
    role = statements(synth, "dev", stack, description)

    assert denied(role, "s3:GetObject", keys, written.bucket) == []
    assert can_decrypt_with_the_platform_key(role, DEV)


@pytest.mark.parametrize("step", ["promote", "rollback"])
def test_promote_and_rollback_may_publish_the_bootstrap_baselines(
    synth: Synthesized, bootstrapped: dict[str, Bootstrapped], step: str
) -> None:
    written = bootstrapped["dev"]
    role = statements(
        synth, "dev", "fraud-detection-serving", f"fraud-detection-dev deployment step: {step} (Lambda execution role)"
    )
    assert denied(role, "s3:PutObject", written.current_keys, written.bucket) == []


def test_the_model_monitor_jobs_may_read_the_current_baselines_the_bootstrap_wrote(
    model_monitor_synth: Synthesized, bootstrapped: dict[str, Bootstrapped]
) -> None:
    written = bootstrapped["prod"]
    role = statements(
        model_monitor_synth, "prod", "fraud-detection-monitoring", "Model Monitor jobs of fraud-detection-prod"
    )
    assert denied(role, "s3:GetObject", written.current_keys, written.bucket) == []
    assert can_decrypt_with_the_platform_key(role, PROD)


def test_the_check_itself_sees_a_key_outside_the_grants(
    synth: Synthesized, bootstrapped: dict[str, Bootstrapped]
) -> None:
    # The layout before the fix: bootstrap files under bootstrap/<model>/, which no reader was granted.
    role = statements(
        synth, "dev", "fraud-detection-training", "Runs the fraud-detection-dev-training pipeline and its jobs"
    )
    old = ("bootstrap/fraud-detection/model.tar.gz",)
    assert denied(role, "s3:GetObject", old, bootstrapped["dev"].bucket) == list(old)

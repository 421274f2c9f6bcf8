"""Seam scenarios: a real producer's output handed to the real consumer, in one environment's deployed names.

Each scenario runs the project's code under moto with an environment's deployed names (config for the tools,
the synthesized function ``Environment`` for Lambda code), so what it records needs no translation:
- ``bootstrap``: the bootstrap tool registers its package (``tools/bootstrap_serving.py``);
- ``publish_baselines``: promote's and rollback's copy of a package's baselines to the current prefix;
- ``drift_window``: the drift state machine's first step lists a window of captures into a manifest.
The calls are judged by ``Checker.check_recorded`` against that environment only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from config import ENVIRONMENTS, MODELS, ModelDeployment
from config.naming import bucket_name
from lambdas.deployment.baselines import publish_current_baselines
from lambdas.monitoring.capture_window import CaptureWindow, prepare_window
from lambdas.monitoring.settings import WindowSettings
from tests.contract import recorder
from tests.support.baselines import tagged_baselines
from tests.support.trained import train_run
from tools.bootstrap_serving import bootstrap as bootstrap_tool

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BASELINE_FILES = ("data-quality/statistics.json", "data-quality/constraints.json", "model-quality/constraints.json")


@dataclass
class Scenario:
    """What a scenario produced and the calls it recorded (a recording of its own)."""

    env: str
    outputs: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def recording(self) -> dict[str, Any]:
        return {"calls": self.calls, "settings": recorder.recording()["settings"]}


@contextmanager
def recorded(scenario: Scenario) -> Iterator[None]:
    start = len(recorder.RECORDER.calls)
    try:
        yield
    finally:
        scenario.calls += recorder.RECORDER.calls[start:]


def deployment(env: str, model: str = "fraud-detection") -> ModelDeployment:
    return ModelDeployment(
        spec=next(m for m in MODELS if m.name == model), env=next(e for e in ENVIRONMENTS if e.name == env)
    )


def bootstrap(env: str, workdir: Path) -> Scenario:
    """The real bootstrap tool, with a small real model of the spec (the tool checks its recorded features) and
    the real Baseline step's baseline files."""
    target = deployment(env)
    scenario = Scenario(env)
    artifact = train_run(target.spec, workdir / "run") / "model" / "model.tar.gz"
    # The real Baseline step's files: the bootstrap refuses a baseline that does not describe the spec's columns.
    baselines = tagged_baselines(workdir / "baselines")
    with mock_aws():
        region = target.env.region
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(Bucket=bucket_name(target.env, "Artifacts"))
        sagemaker = boto3.client("sagemaker", region_name=region)
        sagemaker.create_model_package_group(ModelPackageGroupName=target.model_package_group_name)
        ssm = boto3.client("ssm", region_name=region)
        with recorded(scenario):
            result = bootstrap_tool(
                target,
                artifact=artifact,
                baselines=baselines,
                image_uri=IMAGE,
                s3=s3,
                sagemaker=sagemaker,
                ssm=ssm,
                # Every environment can hold a locally registered package (prod with --force-demo): its files must
                # be readable by the roles that read registered packages.
                force_demo=True,
            )
        scenario.outputs["package"] = sagemaker.describe_model_package(ModelPackageName=result.model_package_arn)
    return scenario


def publish_baselines(env: str, package: Mapping[str, Any], current_uri: str) -> Scenario:
    """Promote's and rollback's baseline copy (``publish_current_baselines``) for ``package``, with the current
    prefix the deployment functions are deployed with."""
    scenario = Scenario(env)
    target = deployment(env)
    with mock_aws():
        region = target.env.region
        s3 = boto3.client("s3", region_name=region)
        sagemaker = boto3.client("sagemaker", region_name=region)
        sagemaker.create_model_package_group(ModelPackageGroupName=target.model_package_group_name)
        buckets = {current_uri.removeprefix("s3://").split("/", 1)[0]}
        sources = _baseline_uris(package)
        buckets |= {uri.removeprefix("s3://").split("/", 1)[0] for uri in sources}
        for bucket in sorted(buckets):
            s3.create_bucket(Bucket=bucket)
        for uri in sources:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
        arn = sagemaker.create_model_package(
            ModelPackageGroupName=target.model_package_group_name,
            InferenceSpecification=package["InferenceSpecification"],
            ModelApprovalStatus="Approved",
            DriftCheckBaselines=package["DriftCheckBaselines"],
        )["ModelPackageArn"]
        with recorded(scenario):
            scenario.outputs["published"] = publish_current_baselines(
                sagemaker, s3, package_arn=arn, current_uri=current_uri
            )
    return scenario


def _baseline_uris(package: Mapping[str, Any]) -> list[str]:
    found = []
    for section in (package.get("DriftCheckBaselines") or {}).values():
        for entry in section.values():
            if isinstance(entry, Mapping) and "S3Uri" in entry:
                found.append(str(entry["S3Uri"]))
    return sorted(found)


def drift_window(env: str, environment: Mapping[str, str], *, region: str, now: datetime) -> Scenario:
    """The window function's logic with its deployed ``Environment``, over captures where SageMaker writes
    them (``<capture prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``, SageMaker Developer Guide,
    "Capture data from real-time endpoint")."""
    settings = WindowSettings.from_env(environment)
    scenario = Scenario(env)
    window = CaptureWindow.ending_at(now.replace(minute=0, second=0, microsecond=0), window_hours=settings.window_hours)
    with mock_aws():
        s3 = boto3.client("s3", region_name=region)
        for bucket in sorted({settings.data_capture.bucket, settings.reports.bucket}):
            s3.create_bucket(Bucket=bucket)
        hour = window.start
        key = settings.data_capture.key(settings.endpoint_name, "primary", f"{hour:%Y/%m/%d/%H}", "capture.jsonl")
        s3.put_object(Bucket=settings.data_capture.bucket, Key=key, Body=b"{}\n")
        with recorded(scenario):
            prepared = prepare_window(
                s3=s3,
                cloudwatch=boto3.client("cloudwatch", region_name=region),
                settings=settings,
                window=window,
                now=now,
            )
        scenario.outputs["window"] = prepared.to_dict()
        scenario.outputs["manifest"] = (
            json.loads(
                s3.get_object(Bucket=settings.reports.bucket, Key=prepared.manifest_uri.split("/", 3)[3])["Body"].read()
            )
            if prepared.manifest_uri
            else []
        )
    return scenario


def manifest_objects(manifest: list[Any]) -> list[str]:
    """The S3 URIs a ``ManifestFile`` names (its ``prefix`` followed by each relative key)."""
    if not manifest:
        return []
    prefix = manifest[0]["prefix"]
    return [f"{prefix}{key}" for key in manifest[1:]]


NOW = datetime(2026, 3, 2, 12, 10, tzinfo=UTC)

"""Pipeline definitions built once per session (one per model and environment) and helpers to read them."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from config import DEV, FRAUD_DETECTION, Environment, ModelDeployment, ModelSpec
from pipeline_defs.definition import PipelineContext, build_pipeline_definition
from pipeline_defs.validate import iter_steps

# What the CDK construct passes: CloudFormation placeholders, filled later by Fn::Sub.
CONTEXT = PipelineContext(
    region="us-east-1",
    role_arn="${PipelineRoleArn}",
    artifacts_bucket="${ArtifactsBucket}",
    offline_store_bucket="${OfflineStoreBucket}",
    ground_truth_bucket="${GroundTruthBucket}",
    kms_key_arn="${KmsKeyArn}",
    code_bundle="s3://${AssetsBucket}/${CodeHash}.zip",
    glue_database="mlops_dev_feature_store",
    athena_workgroup="mlops-dev",
    labels_table="fraud_detection_dev_labels",
    source_revision="0123abcd",
)
# Example values for the placeholders, for validation against the API's patterns.
SUBSTITUTIONS = {
    "${PipelineRoleArn}": "arn:aws:iam::111111111111:role/fraud-detection-pipeline",
    "${ArtifactsBucket}": "artifacts-111111111111",
    "${OfflineStoreBucket}": "offline-store-111111111111",
    "${GroundTruthBucket}": "ground-truth-111111111111",
    "${KmsKeyArn}": "arn:aws:kms:us-east-1:111111111111:key/0f0e0d0c-0b0a-0908-0706-050403020100",
    "${AssetsBucket}": "cdk-hnb659fds-assets-111111111111-us-east-1",
    "${CodeHash}": "9f86d081884c7d65a46e3b1b6a39bfe3cae47b3ec0ab1eefeb0cdd21c3e8e2a7",
}
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def context_for(env: Environment, spec: ModelSpec = FRAUD_DETECTION) -> PipelineContext:
    """The context the CDK construct passes for ``spec`` in ``env`` (Athena names as mlops_constructs/athena.py)."""
    return replace(
        CONTEXT,
        region=env.region,
        glue_database=f"mlops_{env.name}_feature_store",
        athena_workgroup=f"mlops-{env.name}",
        labels_table=f"{spec.name.replace('-', '_')}_{env.name}_labels",
    )


@functools.cache
def built(spec: ModelSpec, env: Environment) -> str:
    """The definition JSON of ``spec`` in ``env``, built once per session."""
    return build_pipeline_definition(ModelDeployment(spec=spec, env=env), context_for(env, spec))


@pytest.fixture(scope="session")
def fraud_dev_text() -> str:
    return built(FRAUD_DETECTION, DEV)


@pytest.fixture
def fraud_dev(fraud_dev_text: str) -> dict[str, Any]:
    """A fresh parsed copy per test, so tests may mutate it."""
    parsed: dict[str, Any] = json.loads(fraud_dev_text)
    return parsed


def steps_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step, condition branches included."""
    return {step["Name"]: step for step in iter_steps(document)}


def walk(node: Any) -> Iterator[Any]:
    """Every value in a JSON document, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def referenced_steps(step: dict[str, Any]) -> set[str]:
    """Names of the steps whose properties or property files ``step`` reads, plus its explicit DependsOn."""
    names = set(step.get("DependsOn", []))
    arguments = step.get("Arguments", {})
    own = arguments.get("Conditions", []) if step.get("Type") == "Condition" else arguments  # not its branches
    for node in walk(own):
        if isinstance(node, dict) and isinstance(node.get("Get"), str) and node["Get"].startswith("Steps."):
            names.add(node["Get"].split(".")[1])
    return names


def join(*values: Any, on: str = "/") -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def get(reference: str) -> dict[str, str]:
    return {"Get": reference}


EXECUTION_ID = get("Execution.PipelineExecutionId")

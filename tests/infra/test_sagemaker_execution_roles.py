"""Both monitoring backends' job roles and the serving model's role come from the one helper
(``SageMakerExecutionRole``), so the drift job's and Model Monitor's grants cannot drift apart."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import FRAUD_DETECTION, ModelDeployment
from mlops_constructs.drift_job import DriftMonitoringJob
from mlops_constructs.model_monitor import ModelMonitorSchedules
from mlops_constructs.sagemaker_role import SageMakerExecutionRole
from mlops_constructs.serving_endpoint import ServingEndpoint
from tests.support.environments import PROD_WITH_MODEL_MONITOR

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=PROD_WITH_MODEL_MONITOR)


def scope() -> tuple[cdk.Stack, kms.Key, dict[str, s3.IBucket]]:
    stack = cdk.Stack(
        cdk.App(), "Monitoring", env=cdk.Environment(account=DEPLOYMENT.env.account, region=DEPLOYMENT.env.region)
    )
    buckets = {name: s3.Bucket.from_bucket_name(stack, name, f"bucket-{name.lower()}") for name in ("A", "C", "G", "R")}
    return stack, kms.Key(stack, "Key"), buckets


def execution_roles(construct: Construct) -> list[SageMakerExecutionRole]:
    return [c for c in construct.node.find_all() if isinstance(c, SageMakerExecutionRole)]


def test_the_monitoring_jobs_and_the_serving_model_use_the_one_role_helper() -> None:
    stack, key, b = scope()
    drift = DriftMonitoringJob(
        stack,
        "Drift",
        deployment=DEPLOYMENT,
        key=key,
        endpoint_name=DEPLOYMENT.endpoint_name,
        artifacts_bucket=b["A"],
        data_capture_bucket=b["C"],
        reports_bucket=b["R"],
        topic=sns.Topic(stack, "Topic"),
    )
    monitor = ModelMonitorSchedules(
        stack,
        "ModelMonitor",
        deployment=DEPLOYMENT,
        key=key,
        endpoint_name=DEPLOYMENT.endpoint_name,
        artifacts_bucket=b["A"],
        data_capture_bucket=b["C"],
        ground_truth_bucket=b["G"],
        reports_bucket=b["R"],
    )

    serving = ServingEndpoint(
        stack,
        "Serving",
        deployment=DEPLOYMENT,
        key=key,
        artifacts_bucket=b["A"],
        data_capture_bucket=b["C"],
        owner_topic=sns.Topic(stack, "Owner"),
    )

    assert execution_roles(drift) == [drift.job_role]
    assert execution_roles(monitor) == [monitor.role]
    assert execution_roles(serving) == [serving.role]

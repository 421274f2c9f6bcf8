"""Both monitoring backends build their SageMaker job role with the one helper (``MonitoringJobRole``), so the
drift job's and Model Monitor's grants cannot drift apart."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import FRAUD_DETECTION, ModelDeployment
from mlops_constructs.drift_job import DriftMonitoringJob
from mlops_constructs.job_role import MonitoringJobRole
from mlops_constructs.model_monitor import ModelMonitorSchedules
from tests.support.environments import PROD_WITH_MODEL_MONITOR

DEPLOYMENT = ModelDeployment(spec=FRAUD_DETECTION, env=PROD_WITH_MODEL_MONITOR)


def scope() -> tuple[cdk.Stack, kms.Key, dict[str, s3.IBucket]]:
    stack = cdk.Stack(
        cdk.App(), "Monitoring", env=cdk.Environment(account=DEPLOYMENT.env.account, region=DEPLOYMENT.env.region)
    )
    buckets = {name: s3.Bucket.from_bucket_name(stack, name, f"bucket-{name.lower()}") for name in ("A", "C", "G", "R")}
    return stack, kms.Key(stack, "Key"), buckets


def job_roles(construct: Construct) -> list[MonitoringJobRole]:
    return [c for c in construct.node.find_all() if isinstance(c, MonitoringJobRole)]


def test_the_drift_job_and_model_monitor_use_the_one_job_role_helper() -> None:
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

    (drift_helper,) = job_roles(drift)
    (monitor_helper,) = job_roles(monitor)
    assert drift.job_role is drift_helper.role
    assert monitor.role is monitor_helper.role

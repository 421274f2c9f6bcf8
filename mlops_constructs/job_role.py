"""The execution role of a model's SageMaker monitoring jobs (both backends, ADR 0008).

One helper so the ``processing`` drift job and the ``model_monitor`` schedules cannot drift apart: a role SageMaker
assumes (for this account only) that reads the given S3 prefixes, writes the reports prefix, uses the platform key
(and lets SageMaker create grants on it for the job's volumes), pulls the job's image, logs to SageMaker's
processing-job log groups and publishes metrics, limited to one namespace where the job has one.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlops_constructs.nag import object_finding
from mlops_constructs.permissions import allow_unscoped


class MonitoringJobRole(Construct):
    """``role``: the job role. ``reads`` and ``writes`` are ``(bucket, key pattern)`` pairs such as
    ``(artifacts, "baselines/<model>/current/*")``; ``image_repositories`` are the AWS-owned ECR repositories of
    the job's image; ``metrics_namespace`` limits PutMetricData (None: the job's container picks the namespace)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        description: str,
        key: kms.IKey,
        reads: Sequence[tuple[s3.IBucket, str]],
        writes: Sequence[tuple[s3.IBucket, str]],
        image_repositories: Sequence[str],
        metrics_namespace: str | None,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=description,
        )
        for bucket, pattern in reads:
            self.role.add_to_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(pattern)])
            )
        buckets = {bucket.bucket_name: bucket for bucket, _ in reads}
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets.values()])
        )
        for bucket, pattern in writes:
            self.role.add_to_policy(
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(pattern)])
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        repositories = [f"arn:{stack.partition}:ecr:{stack.region}:*:repository/{name}" for name in image_repositories]
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=repositories,
            )
        )
        allow_unscoped(self.role, actions=["ecr:GetAuthorizationToken"], reason="the jobs pull their image.")
        allow_unscoped(
            self.role,
            actions=["cloudwatch:PutMetricData"],
            reason="the jobs publish their drift and quality metrics"
            + (f", limited to {metrics_namespace} by condition." if metrics_namespace else "."),
            conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}} if metrics_namespace else None,
        )
        log_groups = "/aws/sagemaker/ProcessingJobs*"
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=log_groups,
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
        findings = {
            f"Resource::arn:{partition}:logs:{stack.region}:{stack.account}:log-group:{log_groups}": "Monitoring "
            "jobs log to SageMaker's processing-job log groups, named by job.",
            **{
                f"Resource::arn:{partition}:ecr:{stack.region}:*:repository/{name}": "The job's image is in an "
                "AWS-owned registry whose account differs per region."
                for name in image_repositories
            },
        }
        for finding, reason in findings.items():
            cdk.Validations.of(self.role).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
        for bucket, pattern in [*reads, *writes]:
            cdk.Validations.of(self.role).acknowledge(
                cdk.Acknowledgment(
                    id=object_finding(self, bucket.bucket_name, pattern),
                    reason="Captures, labels, baselines, code and reports live under the model's own prefixes; "
                    "SageMaker and the jobs name the files inside.",
                )
            )

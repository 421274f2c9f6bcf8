"""The execution role SageMaker assumes to run a model's containers: the monitoring jobs of both backends
(ADR 0008) and the serving endpoint's model.

One helper so these roles cannot drift apart: a role SageMaker assumes (for this account only) that reads the
given S3 prefixes, writes the given ones, uses the platform key (encrypt and decrypt objects, and let SageMaker
create grants on it for the volumes), pulls the container's image from its AWS-owned registry, logs to the given
SageMaker log groups and publishes metrics, limited to one namespace where the container has one.

IAM: KMS access through the key's ``grant`` method (the CreateGrant statement with its condition aside); S3
access by hand-written statements, because ``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
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


class SageMakerExecutionRole(iam.Role):
    """An ``iam.Role``, so it keeps the logical ID a plain role has at its place.

    ``reads`` and ``writes`` are ``(bucket, key pattern)`` pairs such as ``(artifacts, "baselines/<model>/current/*")``;
    ``image_repositories`` are the AWS-owned ECR repositories of the image; ``log_groups`` the SageMaker log group
    pattern (``/aws/sagemaker/ProcessingJobs*``); ``metrics_namespace`` limits PutMetricData (None: the container
    picks its namespaces); ``lists_prefixes`` grants ListBucket on the read buckets (jobs read whole prefixes, an
    endpoint its model artifact by key).
    """

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
        log_groups: str,
        metrics_namespace: str | None,
        lists_prefixes: bool,
    ) -> None:
        account = cdk.Stack.of(scope).account
        super().__init__(
            scope,
            id_,
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description=description,
        )
        stack = cdk.Stack.of(self)
        for bucket, pattern in reads:
            self.add_to_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(pattern)])
            )
        buckets = {bucket.bucket_name: bucket for bucket, _ in reads}
        if lists_prefixes:  # jobs read whole prefixes; an endpoint reads its model artifact by key
            self.add_to_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[b.bucket_arn for b in buckets.values()])
            )
        for bucket, pattern in writes:
            self.add_to_policy(
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(pattern)])
            )
        key.grant(self, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        # Hand-written: a grant method cannot carry the GrantIsForAWSResource condition.
        self.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        repositories = [f"arn:{stack.partition}:ecr:{stack.region}:*:repository/{name}" for name in image_repositories]
        self.add_to_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=repositories,
            )
        )
        allow_unscoped(self, actions=["ecr:GetAuthorizationToken"], reason="SageMaker pulls the image.")
        allow_unscoped(
            self,
            actions=["cloudwatch:PutMetricData"],
            reason="the containers publish their metrics"
            + (f", limited to {metrics_namespace} by condition." if metrics_namespace else "."),
            conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}} if metrics_namespace else None,
        )
        self.add_to_policy(
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
            f"Resource::arn:{partition}:logs:{stack.region}:{stack.account}:log-group:{log_groups}": "SageMaker "
            "names the log groups of jobs and endpoints after them, under its own prefix.",
            **{
                f"Resource::arn:{partition}:ecr:{stack.region}:*:repository/{name}": "The built-in image is in an "
                "AWS-owned registry whose account differs per region."
                for name in image_repositories
            },
        }
        for finding, reason in findings.items():
            cdk.Validations.of(self).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))
        for bucket, pattern in [*reads, *writes]:
            cdk.Validations.of(self).acknowledge(
                cdk.Acknowledgment(
                    id=object_finding(self, bucket.bucket_name, pattern),
                    reason="Artifacts, captures, labels, baselines, code and reports live under the model's own "
                    "prefixes; SageMaker and the containers name the files inside.",
                )
            )

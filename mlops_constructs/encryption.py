"""The platform's customer-managed KMS key."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def key_arn_parameter_name(environment: str) -> str:
    """The SSM parameter that holds the platform key's ARN in ``environment`` (written by ``PlatformKey``)."""
    return f"/mlops/{environment}/platform-key-arn"


def cloudwatch_logs_statement(stack: cdk.Stack) -> iam.PolicyStatement:
    """The key-policy statement that lets CloudWatch Logs use a key for this account's log groups only (the
    encryption context names the log group), as the CloudWatch Logs guide for ``AssociateKmsKey`` prescribes."""
    return iam.PolicyStatement(
        sid="AllowCloudWatchLogs",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=_USE_ACTIONS,
        resources=["*"],  # in a key policy "*" means this key
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            }
        },
    )


class PlatformKey(Construct):
    """A rotating customer-managed key whose policy lets the platform's AWS services use it.

    Its ARN is also published as the SSM parameter ``key_arn_parameter_name(environment)``.

    Service principals are limited to this account with ``aws:SourceAccount`` (confused-deputy protection);
    CloudWatch Logs is further limited to this account's log groups through the encryption context, as the
    CloudWatch Logs guide for ``AssociateKmsKey`` prescribes.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        alias: str,
        arn_parameter_name: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Encrypts the MLOps platform's data: feature store, captures, artifacts, reports, topics.",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(30),
        )
        same_account = {"StringEquals": {"aws:SourceAccount": stack.account}}
        # SageMaker (endpoints, jobs, monitoring) and the Feature Store online/offline stores.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSageMakerAndFeatureStore",
                principals=[iam.ServicePrincipal("sagemaker.amazonaws.com")],
                actions=[*_USE_ACTIONS, "kms:CreateGrant"],
                resources=["*"],  # in a key policy "*" means this key
                conditions=same_account,
            )
        )
        # SNS topics encrypted with this key, and the services that publish to them.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowNotificationPublishers",
                principals=[
                    iam.ServicePrincipal("sns.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=same_account,
            )
        )
        self.key.add_to_resource_policy(cloudwatch_logs_statement(stack))
        # The key's ARN at a known name, for templates that need it where a cross-stack reference is not
        # documented to work: an SSM-typed template parameter is a plain Ref (the pipeline body's Fn::Sub).
        self.arn_parameter = ssm.StringParameter(
            self,
            "ArnParameter",
            parameter_name=arn_parameter_name,
            string_value=self.key.key_arn,
            description="ARN of the MLOps platform's KMS key",
        )

"""Lambda functions with the platform's defaults.

- Python 3.14 on arm64; X-Ray active tracing; a KMS-encrypted log group with retention from config;
- the code asset is only the repository's ``lambdas/`` package (boto3 comes from the runtime, Powertools from
  its public layer, resolved at deploy time from the SSM public parameter Powertools publishes per version:
  ``/aws/service/powertools/python/<arch>/<python>/<version>`` (powertools-lambda-python PR #7695)), so each
  function's asset stays far below 1 MB and synth stays offline;
- an explicit least-privilege role: only what the construct's user grants, plus logs and X-Ray;
- in an isolated environment, the function runs in the VPC's private subnets and the platform security group
  (``network``, ADR 0019), and its role gets the stack's narrowed network-interface policy. ``network`` has no
  default, so no function can be left outside the VPC by forgetting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped

ROOT = Path(__file__).resolve().parent.parent
POWERTOOLS_VERSION = "3.37.0"  # the same pin as lambdas/requirements.txt
RUNTIME = lambda_.Runtime.PYTHON_3_14
_LAYER_PYTHON = "python3.14"
# Only the Lambda package goes into the asset (GIT ignore semantics: exclude everything, re-include lambdas/).
_ASSET_EXCLUDES = ["*", "!lambdas/", "!lambdas/**", "**/__pycache__/", "**/*.pyc", "lambdas/requirements.txt"]


def lambdas_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(ROOT), exclude=_ASSET_EXCLUDES, ignore_mode=cdk.IgnoreMode.GIT)


class PythonFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        handler: str,
        description: str,
        key: kms.IKey,
        network: NetworkAccess | None,
        log_retention_days: int,
        environment: Mapping[str, str],
        timeout: cdk.Duration | None = None,
        memory_size_mb: int = 512,
        service_name: str,
        function_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention(log_retention_days),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (Lambda execution role)",
        )
        if network is not None:
            # Lambda creates the function's network interfaces with the execution role while it deploys.
            # On the role itself (ManagedPolicyArns), so the role, and so the function, is created after the policy.
            self.role.add_managed_policy(network.lambda_policy())
        layer_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"/aws/service/powertools/python/arm64/{_LAYER_PYTHON}/{POWERTOOLS_VERSION}"
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            # Named only where operators and tools address the function (the on-call CLI's rollback).
            function_name=function_name,
            code=lambdas_code(),
            description=description,
            role=self.role,
            timeout=timeout or cdk.Duration.seconds(60),
            memory_size=memory_size_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.security_group] if network else None,
            layers=[lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)],
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
        # Logs: the function's own log group only. X-Ray: PutTraceSegments has no resource-level scoping.
        self.log_group.grant_write(self.role)
        allow_unscoped(
            self.role,
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            reason="active tracing sends the function's traces to X-Ray.",
        )


_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for ``days`` (config validates it is one CloudWatch accepts)."""
    return logs.RetentionDays[_RETENTION[days]]

"""The deployment Lambdas of one model in one environment (``lambdas/deployment``): prepare, deploy, verify,
compare, promote and rollback for the retraining state machine, and the online ``score`` function.

Each function has its own role with only what its step needs (``lambdas/deployment/README.md`` lists the
calls): SageMaker actions on this endpoint, the configs and models the automation names
``<endpoint>-<digest>-<kind>``, and this model's package group; the serving pointer; the history table.
"""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.monitoring_common import current_baseline_prefix
from mlops_constructs.nag import object_finding
from mlops_constructs.python_function import PythonFunction

# What each deployment step calls in SageMaker (read-only describes are granted to all).
_SAGEMAKER_WRITES: dict[str, tuple[str, ...]] = {
    "prepare": ("sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"),
    "deploy": ("sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"),
    "verify": (),
    "compare": (),
    "promote": (
        "sagemaker:UpdateEndpoint",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
    ),
    "rollback": (
        "sagemaker:UpdateEndpoint",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
    ),
}
_READS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:ListTags",
)
STEPS = tuple(_SAGEMAKER_WRITES)


class DeploymentAutomation(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        history_table_name: str,
        model_role: iam.IRole,
        data_capture_bucket: s3.IBucket,
        alarm_names: list[str],
        variant_name: str,
        artifacts_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        sm = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        endpoint = deployment.endpoint_name
        history_arn = stack.format_arn(service="dynamodb", resource="table", resource_name=history_table_name)
        settings = {
            **dataclasses.asdict(deployment.env.deployment),
            "alarm_names": alarm_names,
            "decision_threshold": deployment.spec.decision_threshold,
        }
        environment = {
            "MODEL_NAME": deployment.spec.name,
            "ENVIRONMENT": deployment.env.name,
            "ENDPOINT_NAME": endpoint,
            "VARIANT_NAME": variant_name,
            "SERVING_POINTER_PARAMETER": deployment.serving_pointer_parameter,
            "HISTORY_TABLE": history_table_name,
            "MODEL_PACKAGE_GROUP": deployment.model_package_group_name,
            "SAGEMAKER_ROLE_ARN": model_role.role_arn,
            "DEPLOYMENT_SETTINGS": json.dumps(settings, sort_keys=True),
            # promote/rollback publish the serving model's monitoring baselines here (monitoring reads them).
            "CURRENT_BASELINE_S3_URI": f"s3://{artifacts_bucket.bucket_name}/{current_baseline_prefix(deployment)}",
        }
        self.functions: dict[str, PythonFunction] = {}
        for step, writes in _SAGEMAKER_WRITES.items():
            fn = PythonFunction(
                self,
                step.capitalize(),
                handler=f"lambdas.deployment.{step}.handler",
                description=f"{deployment.prefix} deployment step: {step}",
                key=key,
                log_retention_days=deployment.env.storage.log_retention_days,
                environment=environment,
                service_name=f"{deployment.prefix}-deployment",
                function_name=f"{deployment.prefix}-{step}",
                timeout=cdk.Duration.minutes(2),
            )
            role = fn.role
            own = [f"{sm}:endpoint-config/{endpoint}-*", f"{sm}:model/{endpoint}-*"]
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(_READS),
                    resources=[
                        f"{sm}:endpoint/{endpoint}",
                        f"{sm}:endpoint-config/*",
                        f"{sm}:model/*",
                        f"{sm}:model-package/{deployment.model_package_group_name}/*",
                    ],
                )
            )
            if writes:
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=list(writes),
                        resources=[
                            f"{sm}:endpoint/{endpoint}",
                            *own,
                            f"{sm}:endpoint-config/*",
                            f"{sm}:model-package/{deployment.model_package_group_name}/*",
                        ],
                    )
                )
            if step in ("prepare", "rollback"):
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["iam:PassRole"],
                        resources=[model_role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                    )
                )
            if step in ("deploy", "promote", "rollback"):
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["cloudwatch:DescribeAlarms"],
                        resources=[
                            stack.format_arn(
                                service="cloudwatch",
                                resource="alarm",
                                resource_name=name,
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                            )
                            for name in alarm_names
                        ],
                    )
                )
            if step in ("promote", "rollback"):
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["s3:GetObject"],
                        resources=[artifacts_bucket.arn_for_objects(f"pipelines/{deployment.pipeline_name}/*")],
                    )
                )
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["s3:PutObject"],
                        resources=[artifacts_bucket.arn_for_objects(f"{current_baseline_prefix(deployment)}/*")],
                    )
                )
                for pattern in (f"pipelines/{deployment.pipeline_name}/*", f"{current_baseline_prefix(deployment)}/*"):
                    cdk.Validations.of(role).acknowledge(
                        cdk.Acknowledgment(
                            id=object_finding(self, artifacts_bucket.bucket_name, pattern),
                            reason="Baselines are copied from the package's pipeline run into the model's "
                            "current-baseline prefix.",
                        )
                    )
            if step == "compare":
                role.add_to_policy(iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]))
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["s3:GetObject"],
                        resources=[data_capture_bucket.arn_for_objects(f"{deployment.spec.name}/data-capture/*")],
                    )
                )
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["s3:ListBucket"],
                        resources=[data_capture_bucket.bucket_arn],
                        conditions={"StringLike": {"s3:prefix": [f"{deployment.spec.name}/data-capture/*"]}},
                    )
                )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ssm:GetParameter", *(["ssm:PutParameter"] if step in ("promote", "rollback") else [])],
                    resources=[
                        stack.format_arn(
                            service="ssm",
                            resource="parameter",
                            resource_name=deployment.serving_pointer_parameter.lstrip("/"),
                        )
                    ],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                        "dynamodb:ConditionCheckItem",
                    ],
                    resources=[history_arn],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn]
                )
            )
            self._acknowledge(role, endpoint=endpoint, deployment=deployment, data_capture_bucket=data_capture_bucket)
            self.functions[step] = fn

        self.score = PythonFunction(
            self,
            "Score",
            handler="lambdas.deployment.score.handler",
            description=f"Scores an entity with {deployment.prefix}: online features in spec order, InferenceId",
            key=key,
            log_retention_days=deployment.env.storage.log_retention_days,
            service_name=f"{deployment.prefix}-score",
            timeout=cdk.Duration.seconds(10),
            environment={
                "ENDPOINT_NAME": endpoint,
                "FEATURE_GROUPS": json.dumps(
                    {g.name: deployment.feature_group_name(g.name) for g in deployment.spec.feature_groups},
                    sort_keys=True,
                ),
                "FEATURE_NAMES": json.dumps(list(deployment.spec.feature_names)),
                "ENTITY_ID_NAME": deployment.spec.entity_id,
            },
        )
        self.score.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:GetRecord"],
                resources=[
                    f"{sm}:feature-group/{deployment.feature_group_name(g.name)}"
                    for g in deployment.spec.feature_groups
                ],
            )
        )
        self.score.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[f"{sm}:endpoint/{endpoint}"])
        )
        self.score.role.add_to_policy(iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn]))

    def _acknowledge(
        self, role: iam.IRole, *, endpoint: str, deployment: ModelDeployment, data_capture_bucket: s3.IBucket
    ) -> None:
        stack = cdk.Stack.of(self)
        partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
        sm_rendered = f"arn:{partition}:sagemaker:{stack.region}:{stack.account}"
        reasons = {
            f"Resource::{sm_rendered}:endpoint-config/*": "The live and pinned configs are created by "
            "CloudFormation with generated names, so describing and restoring them cannot name them in advance.",
            f"Resource::{sm_rendered}:model/*": "Models created by CloudFormation have generated names; only "
            "DescribeModel is granted on them.",
            f"Resource::{sm_rendered}:endpoint-config/{endpoint}-*": "Configs the automation creates are named "
            "<endpoint>-<digest of the deployment id>-<kind>.",
            f"Resource::{sm_rendered}:model/{endpoint}-*": "Models the automation creates are named "
            "<endpoint>-<digest of the deployment id>-<kind>.",
            f"Resource::{sm_rendered}:model-package/{deployment.model_package_group_name}/*": "Package versions "
            "are numbered by SageMaker within this model's group.",
            "Resource::*": "cloudwatch:GetMetricData has no resource-level permissions; X-Ray likewise.",
        }
        for finding, reason in reasons.items():
            cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id=object_finding(self, data_capture_bucket.bucket_name, f"{deployment.spec.name}/data-capture/*"),
                reason="Capture files are named by endpoint, variant and hour under the model's capture prefix.",
            )
        )

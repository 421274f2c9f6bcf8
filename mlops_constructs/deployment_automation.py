"""The deployment Lambdas of one model in one environment (``lambdas/deployment``): prepare, deploy, verify,
compare, promote and rollback for the retraining state machine, and the online ``score`` function.

Each function has its own role with only what its step needs (``lambdas/deployment/README.md`` lists the
calls): SageMaker actions on this endpoint, the configs and models the automation names
``<endpoint>-<digest>-<kind>``, and this model's package group; the serving pointer; the history table.

IAM: DynamoDB and KMS access through the table's and key's ``grant`` methods; S3 access by hand-written
statements, because ``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.dead_letters import target_dead_letter_queue
from mlops_constructs.monitoring_common import current_baseline_prefix
from mlops_constructs.nag import object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped
from mlops_constructs.python_function import PythonFunction

# What each deployment step calls in SageMaker beyond the reads every step has, by the resources it acts on
# (lambdas/deployment/README.md lists the calls). Each action is granted only on resource types it supports.
_OWN_MODELS, _OWN_CONFIGS, _PACKAGES, _ENDPOINT, _ANY_CONFIG = (
    "own_models",
    "own_configs",
    "packages",
    "endpoint",
    "configs",
)
_SAGEMAKER_WRITES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "prepare": (
        ("sagemaker:CreateModel", (_OWN_MODELS,)),
        ("sagemaker:CreateEndpointConfig", (_OWN_CONFIGS,)),
        # A deployment into an endpoint asleep outside working hours wakes it (ADR 0020, lambdas/deployment/idle.py).
        ("sagemaker:CreateEndpoint", (_ENDPOINT, _ANY_CONFIG)),
        ("sagemaker:AddTags", (_OWN_MODELS, _OWN_CONFIGS, _ENDPOINT)),
    ),
    "deploy": (
        ("sagemaker:UpdateEndpoint", (_ENDPOINT, _ANY_CONFIG)),
        ("sagemaker:UpdateEndpointWeightsAndCapacities", (_ENDPOINT,)),
    ),
    "verify": (),
    "compare": (),
    "promote": (
        ("sagemaker:UpdateEndpoint", (_ENDPOINT, _ANY_CONFIG)),
        ("sagemaker:AddTags", (_PACKAGES,)),
        ("sagemaker:DeleteTags", (_PACKAGES,)),
    ),
    "rollback": (
        ("sagemaker:UpdateEndpoint", (_ENDPOINT, _ANY_CONFIG)),
        ("sagemaker:CreateModel", (_OWN_MODELS,)),
        ("sagemaker:CreateEndpointConfig", (_OWN_CONFIGS,)),
        ("sagemaker:AddTags", (_OWN_MODELS, _OWN_CONFIGS, _PACKAGES)),
        ("sagemaker:DeleteTags", (_PACKAGES,)),
    ),
    # The idle schedule's sleep and wake (environments with ``idle``, ADR 0020).
    "idle": (
        ("sagemaker:DeleteEndpoint", (_ENDPOINT,)),
        ("sagemaker:CreateEndpoint", (_ENDPOINT, _ANY_CONFIG)),
        ("sagemaker:AddTags", (_ENDPOINT,)),
    ),
}
# Read by every step: the endpoint, any config (CloudFormation's have generated names), any model, the packages.
_READS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sagemaker:DescribeEndpoint",), _ENDPOINT),
    (("sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"), _ANY_CONFIG),
    (("sagemaker:DescribeModel",), "models"),
    (("sagemaker:DescribeModelPackage",), _PACKAGES),
)
# Steps that create endpoint configs or move the endpoint to one: the configs carry KmsKeyId and a capture KmsKeyId.
_USE_KEY_FOR_SAGEMAKER = ("prepare", "deploy", "promote", "rollback", "idle")
# Steps that may update the endpoint (suspend its scaling around an instance-type change), and steps that see the
# endpoint InService on the config they asked for (resume it): lambdas/deployment/scaling.py.
_SUSPENDS_SCALING = ("deploy", "promote", "rollback")
_RESUMES_SCALING = ("verify", "promote", "rollback")
STEPS = tuple(step for step in _SAGEMAKER_WRITES if step != "idle")


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
        network = NetworkAccess.of(self, deployment.env)
        stack = cdk.Stack.of(self)
        sm = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        endpoint = deployment.endpoint_name
        history = dynamodb.Table.from_table_name(self, "HistoryTable", history_table_name)
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
        if network is not None:  # the Models prepare and rollback create run in the VPC (ADR 0019)
            environment["MODEL_SUBNETS"] = ",".join(network.subnet_ids)
            environment["MODEL_SECURITY_GROUPS"] = ",".join(network.security_group_ids)
        self.functions: dict[str, PythonFunction] = {}
        for step, writes in _SAGEMAKER_WRITES.items():
            if step == "idle" and deployment.env.idle is None:
                continue
            fn = PythonFunction(
                self,
                step.capitalize(),
                handler=f"lambdas.deployment.{step}.handler",
                description=f"{deployment.prefix} deployment step: {step}",
                key=key,
                network=network,
                log_retention_days=deployment.env.storage.log_retention_days,
                environment=environment,
                service_name=f"{deployment.prefix}-deployment",
                function_name=f"{deployment.prefix}-{step}",
                timeout=cdk.Duration.minutes(2),
            )
            role = fn.role
            on = {
                _ENDPOINT: [f"{sm}:endpoint/{endpoint}"],
                _ANY_CONFIG: [f"{sm}:endpoint-config/*"],
                "models": [f"{sm}:model/*"],
                # Configs and models the automation creates are named <endpoint>-<digest>-<kind>.
                _OWN_CONFIGS: [f"{sm}:endpoint-config/{endpoint}-*"],
                _OWN_MODELS: [f"{sm}:model/{endpoint}-*"],
                _PACKAGES: [f"{sm}:model-package/{deployment.model_package_group_name}/*"],
            }
            for actions, kind in _READS:
                role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=on[kind]))
            for action, kinds in writes:
                role.add_to_policy(
                    iam.PolicyStatement(actions=[action], resources=[arn for kind in kinds for arn in on[kind]])
                )
            if step in ("prepare", "rollback"):
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["iam:PassRole"],
                        resources=[model_role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                    )
                )
            if step in _USE_KEY_FOR_SAGEMAKER:
                # The configs name the platform key (KmsKeyId, DataCaptureConfig.KmsKeyId). "The KMS key policy must
                # grant permission to the IAM role that you specify in your CreateEndpoint, UpdateEndpoint requests"
                # (SageMaker API Reference, CreateEndpointConfig, KmsKeyId): SageMaker creates grants on the key
                # for the endpoint's volumes and captures as the caller, so the caller may create grants for AWS
                # resources only, and describe the key (docs/aws-facts.md#kms-for-endpoint-configs).
                # Hand-written: a grant method cannot carry the GrantIsForAWSResource condition.
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["kms:CreateGrant"],
                        resources=[key.key_arn],
                        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    )
                )
                key.grant(role, "kms:DescribeKey")
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
            self._grant_scaling(role, step=step, endpoint=endpoint)
            if step in ("promote", "rollback"):
                # Baselines are copied from the package's registered artifacts (bootstrap's included) into the
                # model's current-baseline prefix that monitoring reads.
                registered = f"{deployment.registered_artifacts_prefix}/*"
                current = f"{current_baseline_prefix(deployment)}/*"
                role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["s3:GetObject"], resources=[artifacts_bucket.arn_for_objects(registered)]
                    )
                )
                role.add_to_policy(
                    iam.PolicyStatement(actions=["s3:PutObject"], resources=[artifacts_bucket.arn_for_objects(current)])
                )
                for pattern in (registered, current):
                    cdk.Validations.of(role).acknowledge(
                        cdk.Acknowledgment(
                            id=object_finding(self, artifacts_bucket.bucket_name, pattern),
                            reason="Baselines are copied from the package's registered artifacts into the model's "
                            "current-baseline prefix.",
                        )
                    )
            if step == "compare":
                allow_unscoped(
                    role,
                    actions=["cloudwatch:GetMetricData"],
                    reason="compare reads the variants' invocation, error and latency metrics.",
                )
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
            history.grant(
                role,
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:Query",
                "dynamodb:ConditionCheckItem",
            )
            key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
            self._acknowledge(role, endpoint=endpoint, deployment=deployment, data_capture_bucket=data_capture_bucket)
            self.functions[step] = fn

        self.idle_rules = self._idle_schedule(deployment, key=key)

        self.score = PythonFunction(
            self,
            "Score",
            handler="lambdas.deployment.score.handler",
            description=f"Scores an entity with {deployment.prefix}: online features in spec order, InferenceId",
            key=key,
            network=network,
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
                # The spec's categories, which the model input encodes a categorical feature with (as training).
                "CATEGORIES": json.dumps(
                    {name: list(values) for name, values in deployment.spec.category_vocabularies.items()}
                ),
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
        key.grant_decrypt(self.score.role)

    def _idle_schedule(self, deployment: ModelDeployment, *, key: kms.IKey) -> dict[str, events.Rule]:
        """Sleep at the end of working hours, wake at their start (``env.idle``, ADR 0020); none without one."""
        idle = deployment.env.idle
        if idle is None:
            return {}
        dead_letters = target_dead_letter_queue(
            self, "IdleDeadLetters", key=key, used_by="the idle schedule's sleep and wake rules"
        )
        rules = {}
        for action, expression in (("sleep", idle.sleep_expression), ("wake", idle.wake_expression)):
            rules[action] = events.Rule(
                self,
                f"Idle{action.capitalize()}",
                description=f"{deployment.prefix}: {action} the endpoint ({expression} UTC, ADR 0020)",
                schedule=events.Schedule.expression(expression),
                targets=[
                    targets.LambdaFunction(
                        self.functions["idle"].function,
                        event=events.RuleTargetInput.from_object({"action": action}),
                        dead_letter_queue=dead_letters,
                        retry_attempts=4,
                        max_event_age=cdk.Duration.hours(1),
                    )
                ],
            )
        return rules

    def _grant_scaling(self, role: iam.Role, *, step: str, endpoint: str) -> None:
        """Application Auto Scaling around an update that changes a scaled variant's instance type: SageMaker rejects
        such an update, so the step deregisters the variant's scalable target first and re-registers it, with its
        policies and scheduled actions, once the endpoint is InService (``lambdas/deployment/scaling.py``)."""
        suspends, resumes = step in _SUSPENDS_SCALING, step in _RESUMES_SCALING
        if not (suspends or resumes):
            return
        stack = cdk.Stack.of(self)
        allow_unscoped(
            role,
            actions=[
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies",
                "application-autoscaling:DescribeScheduledActions",
            ],
            reason="the step reads the endpoint variants' scaling settings around an update that changes a scaled "
            "variant's instance type.",
        )
        changes = [
            *(["application-autoscaling:DeregisterScalableTarget"] if suspends else []),
            *(
                [
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:PutScheduledAction",
                ]
                if resumes
                else []
            ),
        ]
        # A scalable target's ARN carries an opaque id, not the endpoint's name: the condition keys narrow the
        # statement to SageMaker variant instance counts.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=changes,
                resources=[
                    stack.format_arn(service="application-autoscaling", resource="scalable-target", resource_name="*")
                ],
                conditions={
                    "StringEquals": {
                        "application-autoscaling:service-namespace": "sagemaker",
                        "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
                    }
                },
            )
        )
        # A target tracking policy owns CloudWatch alarms named TargetTracking-<resource id>-...; putting or deleting
        # the policy (or deregistering its target) puts or deletes them as the caller.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "cloudwatch:DescribeAlarms",
                    *(["cloudwatch:DeleteAlarms"] if suspends else []),
                    *(["cloudwatch:PutMetricAlarm"] if resumes else []),
                ],
                resources=[
                    stack.format_arn(
                        service="cloudwatch",
                        resource="alarm",
                        resource_name=f"TargetTracking-endpoint/{endpoint}/*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        if resumes:
            # Registering a variant as a scalable target needs the caller to be allowed to change its capacity
            # (SageMaker Developer Guide, "Auto scaling prerequisites").
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:UpdateEndpointWeightsAndCapacities"],
                    resources=[stack.format_arn(service="sagemaker", resource="endpoint", resource_name=endpoint)],
                )
            )

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
            f"Resource::arn:{partition}:application-autoscaling:{stack.region}:{stack.account}:scalable-target/*": "A "
            "scalable target's ARN carries an opaque id; conditions limit the statement to SageMaker variant counts.",
            f"Resource::arn:{partition}:cloudwatch:{stack.region}:{stack.account}:alarm:TargetTracking-endpoint/"
            f"{endpoint}/*": "Application Auto Scaling names the alarms of this endpoint's target tracking policies.",
        }
        for finding, reason in reasons.items():
            cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))
        cdk.Validations.of(role).acknowledge(
            cdk.Acknowledgment(
                id=object_finding(self, data_capture_bucket.bucket_name, f"{deployment.spec.name}/data-capture/*"),
                reason="Capture files are named by endpoint, variant and hour under the model's capture prefix.",
            )
        )

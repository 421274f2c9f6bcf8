"""The serving endpoint of one model in one environment.

- The SageMaker Model is built from the model package named by the environment's **serving pointer** (an SSM
  parameter), read through a template parameter of type ``AWS::SSM::Parameter::Value<String>`` whose default is
  the pointer's name: synth stays offline and deterministic, the automation (promote/rollback) and CloudFormation
  agree on what serves, and a change set (so ``cdk diff``) shows the pointer's value and the Model and
  EndpointConfig it would replace when it moved since the last deploy (ADR 0007).
- The EndpointConfig captures requests and responses (sampling from config, KMS, content-type headers) and,
  where the instance type allows it, encrypts the ML storage volume with the platform key (instance types
  with local NVMe storage reject ``KmsKeyId``). Every EndpointConfig property is create-only, so its name is
  generated: a change creates a new config and an in-place, guardrailed ``UpdateEndpoint``.
- The Endpoint's ``DeploymentConfig`` comes from the environment: blue/green all at once, canary or linear
  with baking and termination waits, auto-rollback on the variant's alarms. ``shadow`` and ``ab`` are run by
  the retraining state machine's Lambdas; CloudFormation itself then updates all at once.
- Application Auto Scaling tracks invocations per instance (``endpoint.autoscaling``). SageMaker rejects an update
  that changes a scaled variant's instance type, so such a change by CloudFormation takes three deploys (README).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import DeploymentStrategy, ModelDeployment
from mlops_constructs.endpoint_alarms import VariantAlarms
from mlops_constructs.network import NetworkAccess
from mlops_constructs.sagemaker_role import SageMakerExecutionRole

VARIANT_NAME = "primary"


def traffic_routing(deployment: ModelDeployment) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
    settings = deployment.env.deployment
    wait = settings.wait_interval_seconds
    if settings.strategy is DeploymentStrategy.CANARY:
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type="CANARY",
            canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                type="CAPACITY_PERCENT", value=settings.canary_size_percent
            ),
            wait_interval_in_seconds=wait,
        )
    if settings.strategy is DeploymentStrategy.LINEAR:
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type="LINEAR",
            linear_step_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                type="CAPACITY_PERCENT", value=settings.linear_step_percent
            ),
            wait_interval_in_seconds=wait,
        )
    return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(type="ALL_AT_ONCE", wait_interval_in_seconds=wait)


class ServingEndpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        data_capture_bucket: s3.IBucket,
        owner_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        endpoint_settings = deployment.env.endpoint
        self.endpoint_name = deployment.endpoint_name
        self.variant_name = VARIANT_NAME
        self.data_capture_uri = data_capture_bucket.s3_url_for_object(f"{deployment.spec.name}/data-capture")

        # Every registered package's model.tar.gz lives under the registered-artifacts prefix (bootstrap included);
        # SageMaker writes captures with the model's execution role (encrypted with the platform key).
        self.role = SageMakerExecutionRole(
            self,
            "ModelRole",
            description=f"Execution role of the {deployment.prefix} models",
            key=key,
            reads=[(artifacts_bucket, f"{deployment.registered_artifacts_prefix}/*")],
            writes=[(data_capture_bucket, f"{deployment.spec.name}/data-capture/*")],
            image_repositories=["sagemaker-xgboost"],
            log_groups="/aws/sagemaker/Endpoints/*",
            metrics_namespace="/aws/sagemaker/Endpoints",
            lists_prefixes=False,
        )
        network = NetworkAccess.of(self, deployment.env)
        if network is not None:
            network.grant_sagemaker_vpc_access(self.role)

        # Resolved by CloudFormation at deploy time (never read at synth), as a parameter rather than a dynamic
        # reference: a change set lists an SSM-typed parameter's resolved value and the resources a new value
        # changes, so `cdk diff` shows when a deploy would replace the Model and EndpointConfig (ADR 0007).
        self.serving_package = cdk.CfnParameter(
            self,
            "ServingModelPackageArn",
            type="AWS::SSM::Parameter::Value<String>",
            default=deployment.serving_pointer_parameter,
            description=f"Serving pointer of {deployment.prefix}: the SSM parameter naming the model package that "
            "serves (written by the bootstrap, promote and rollback)",
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            containers=[
                sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=self.serving_package.value_as_string)
            ],
            enable_network_isolation=True,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=network.subnet_ids, security_group_ids=network.security_group_ids
            )
            if network
            else None,
        )
        self.model.node.add_dependency(self.role)

        variant = sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=self.model.attr_model_name,
            initial_variant_weight=1.0,
            instance_type=endpoint_settings.instance_type,
            initial_instance_count=endpoint_settings.initial_instance_count,
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[variant],
            kms_key_id=key.key_arn if endpoint_settings.volume_kms_supported else None,
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=endpoint_settings.data_capture_sampling_percent,
                destination_s3_uri=self.data_capture_uri,
                kms_key_id=key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    csv_content_types=["text/csv"], json_content_types=["application/json"]
                ),
            ),
        )
        self.alarms = VariantAlarms(
            self,
            "Alarms",
            endpoint_name=self.endpoint_name,
            variant_name=VARIANT_NAME,
            settings=endpoint_settings,
            topic=owner_topic,
            alarm_name_prefix=deployment.prefix,
        )
        settings = deployment.env.deployment
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=traffic_routing(deployment),
                    termination_wait_in_seconds=settings.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=settings.max_execution_timeout_seconds,
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[
                        sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name)
                        for a in self.alarms.rollback_alarms
                    ]
                ),
            ),
        )
        for alarm in self.alarms.rollback_alarms:
            self.endpoint.node.add_dependency(alarm)

        if endpoint_settings.autoscaling:
            target = appscaling.ScalableTarget(
                self,
                "Scaling",
                service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=endpoint_settings.min_instances,
                max_capacity=endpoint_settings.max_instances,
                role=iam.Role.from_role_arn(
                    self,
                    "ScalingRole",
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name="aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                    ),
                ),
            )
            target.node.add_dependency(self.endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                target_value=endpoint_settings.target_invocations_per_instance,
                predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                scale_in_cooldown=cdk.Duration.minutes(5),
                scale_out_cooldown=cdk.Duration.minutes(1),
            )

"""Backend ``model_monitor``: SageMaker Model Monitor data-quality and model-quality schedules.

Model Monitor is closed to new customers (docs/aws-facts.md#model-monitor-availability): accounts that have it
keep it; others use the ``processing`` backend. Both read the serving model's baselines from the stable "current
baseline" prefix that promotion updates, encrypt outputs and volumes with the platform key, encrypt inter-container
traffic and run network-isolated. Every job-definition property is create-only, so definitions have generated names
and a change creates a new definition that the schedule then points to.

The data-quality job runs a record preprocessor (``monitor_stats.preprocessor``, generated from the same monitored
columns as the drift job's config) so that the built-in analyzer sees what the baseline describes: the model's
inputs with categoricals as their labels, then the prediction
(docs/aws-facts.md#model-monitor-record-preprocessor).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.code_bundle import CodeBundle
from mlops_constructs.monitoring_common import (
    analyzer_image,
    capture_prefix,
    current_baseline_prefix,
    drift_job_config,
    ground_truth_prefix,
)
from mlops_constructs.network import NetworkAccess
from mlops_constructs.sagemaker_role import SageMakerExecutionRole
from monitor_stats.preprocessor import render_preprocessor
from monitoring_job.config import parse_job_config

_ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"
_VOLUME_GB = 20
PREPROCESSOR_FILE = "preprocessor.py"


class ModelMonitorSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        endpoint_name: str,
        artifacts_bucket: s3.IBucket,
        data_capture_bucket: s3.IBucket,
        ground_truth_bucket: s3.IBucket,
        reports_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        monitoring = deployment.env.monitoring
        spec = deployment.spec
        baselines = f"s3://{artifacts_bucket.bucket_name}/{current_baseline_prefix(deployment)}"
        reports = f"monitoring/{spec.name}"

        # The same monitored columns as the processing backend's job config: names, order, types, vocabularies.
        columns = parse_job_config(drift_job_config(deployment, endpoint_name=endpoint_name)).monitored
        self.preprocessor = CodeBundle(
            self,
            "Preprocessor",
            includes=(),
            extra_files={PREPROCESSOR_FILE: render_preprocessor(spec.name, columns)},
            single_file=PREPROCESSOR_FILE,
        )
        self.role = SageMakerExecutionRole(
            self,
            "Role",
            description=f"Model Monitor jobs of {deployment.prefix}",
            key=key,
            reads=[
                (data_capture_bucket, f"{capture_prefix(deployment)}/*"),
                (ground_truth_bucket, f"{ground_truth_prefix(deployment)}/*"),
                (artifacts_bucket, f"{current_baseline_prefix(deployment)}/*"),
            ],
            writes=[(reports_bucket, f"{reports}/*")],
            image_repositories=["sagemaker-model-monitor-analyzer"],
            log_groups="/aws/sagemaker/ProcessingJobs*",
            # Model Monitor's container publishes to its own namespaces (docs/aws-facts.md#model-monitor-metrics).
            metrics_namespace=None,
            lists_prefixes=True,
        )
        self.preprocessor.grant_read(self.role)
        # The monitoring job reads the endpoint's capture settings.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint"],
                resources=[stack.format_arn(service="sagemaker", resource="endpoint", resource_name=endpoint_name)],
            )
        )

        image = analyzer_image(deployment.env.region)
        resources = sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
            cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                instance_count=monitoring.instance_count,
                instance_type=monitoring.instance_type,
                volume_size_in_gb=_VOLUME_GB,
                volume_kms_key_id=key.key_arn,
            )
        )
        vpc = NetworkAccess.of(self, deployment.env)  # isolated: the jobs run in the platform's subnets
        if vpc is not None:
            vpc.grant_sagemaker_vpc_access(self.role)
        network = sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
            enable_inter_container_traffic_encryption=True,
            enable_network_isolation=True,
            vpc_config=sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty(
                subnets=vpc.subnet_ids, security_group_ids=vpc.security_group_ids
            )
            if vpc
            else None,
        )
        stopping = sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
            max_runtime_in_seconds=monitoring.max_runtime_seconds
        )
        self.data_quality = sagemaker.CfnDataQualityJobDefinition(
            self,
            "DataQuality",
            role_arn=self.role.role_arn,
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=image,
                record_preprocessor_source_uri=self.preprocessor.s3_uri,
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=f"{baselines}/data-quality/constraints.json"
                ),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=f"{baselines}/data-quality/statistics.json"
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path=_ENDPOINT_INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=key.key_arn,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=_OUTPUT_PATH,
                            s3_uri=f"s3://{reports_bucket.bucket_name}/{reports}/data-quality",
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=resources,
            network_config=network,
            stopping_condition=stopping,
        )
        lag, window = monitoring.ground_truth_lag_hours, monitoring.every_hours
        mq = sagemaker.CfnModelQualityJobDefinition
        self.model_quality = mq(
            self,
            "ModelQuality",
            role_arn=self.role.role_arn,
            model_quality_app_specification=mq.ModelQualityAppSpecificationProperty(
                image_uri=image,
                problem_type="BinaryClassification",
            ),
            model_quality_baseline_config=mq.ModelQualityBaselineConfigProperty(
                constraints_resource=mq.ConstraintsResourceProperty(
                    s3_uri=f"{baselines}/model-quality/constraints.json"
                )
            ),
            model_quality_job_input=mq.ModelQualityJobInputProperty(
                endpoint_input=mq.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path=_ENDPOINT_INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                    # The endpoint returns the fraud probability as its only CSV column.
                    probability_attribute="0",
                    probability_threshold_attribute=spec.decision_threshold,
                    # Inferences old enough for their labels to have arrived (the label lag), one window long.
                    start_time_offset=f"-PT{lag + window}H",
                    end_time_offset=f"-PT{lag}H",
                ),
                ground_truth_s3_input=mq.MonitoringGroundTruthS3InputProperty(
                    s3_uri=f"s3://{ground_truth_bucket.bucket_name}/{ground_truth_prefix(deployment)}"
                ),
            ),
            model_quality_job_output_config=mq.MonitoringOutputConfigProperty(
                kms_key_id=key.key_arn,
                monitoring_outputs=[
                    mq.MonitoringOutputProperty(
                        s3_output=mq.S3OutputProperty(
                            local_path=_OUTPUT_PATH,
                            s3_uri=f"s3://{reports_bucket.bucket_name}/{reports}/model-quality",
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=mq.MonitoringResourcesProperty(
                cluster_config=mq.ClusterConfigProperty(
                    instance_count=monitoring.instance_count,
                    instance_type=monitoring.instance_type,
                    volume_size_in_gb=_VOLUME_GB,
                    volume_kms_key_id=key.key_arn,
                )
            ),
            network_config=mq.NetworkConfigProperty(
                enable_inter_container_traffic_encryption=True,
                enable_network_isolation=True,
                vpc_config=mq.VpcConfigProperty(subnets=vpc.subnet_ids, security_group_ids=vpc.security_group_ids)
                if vpc
                else None,
            ),
            stopping_condition=mq.StoppingConditionProperty(max_runtime_in_seconds=monitoring.max_runtime_seconds),
        )
        self.schedule_names = {
            "DataQuality": deployment.monitoring_schedule_name("data-quality"),
            "ModelQuality": deployment.monitoring_schedule_name("model-quality"),
        }
        self.schedules = {}
        for kind, definition in (("DataQuality", self.data_quality), ("ModelQuality", self.model_quality)):
            schedule = sagemaker.CfnMonitoringSchedule(
                self,
                f"{kind}Schedule",
                monitoring_schedule_name=self.schedule_names[kind],
                monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                    # Only the ARN is an attribute; the generated name is its last path segment.
                    monitoring_job_definition_name=cdk.Fn.select(
                        1, cdk.Fn.split("/", definition.attr_job_definition_arn)
                    ),
                    monitoring_type=kind,
                    schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                        schedule_expression=monitoring.schedule_expression
                    ),
                ),
            )
            self.schedules[kind] = schedule

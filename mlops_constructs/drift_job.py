"""Backend ``processing``: the project's own drift job (``monitoring_job``) as scheduled SageMaker Processing.

A Standard state machine runs on the monitoring schedule (hourly to daily, the same choices as Model Monitor):

1. ``Window`` (Lambda ``lambdas/monitoring/window.py``) lists the window's capture files of every variant into
   an S3 manifest; an empty window ends the run (the Lambda has published ``CaptureObjects = 0`` for the
   missing-data alarm);
2. ``Analyze``: a Processing job over the manifest with ``ShardedByS3Key`` on ``instance_count`` instances; each
   writes mergeable shard statistics (network isolated: it needs nothing but its inputs);
3. ``Merge``: one instance combines the shards, compares with the serving model's baseline and writes
   ``statistics.json``, ``constraint_violations.json``, ``drift_report.json``, ``report.html`` and the per-feature
   CloudWatch metrics the drift alarms watch.

Jobs run on the scikit-learn framework image, which already has the job's only dependency (numpy:
``pipeline_defs/images.py``), so nothing is installed and nothing is downloaded at run time; the code ships as
a content-addressed CDK file asset (``mlops_constructs/code_bundle.py``) that the entrypoint unpacks. A failed
run notifies the owner and fails visibly (alarm on ``ExecutionsFailed``).

IAM: KMS access through the key's ``grant`` method; S3 access by hand-written statements, because
``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.code_bundle import CodeBundle
from mlops_constructs.monitoring_common import (
    DATA_QUALITY_NAMESPACE,
    capture_prefix,
    current_baseline_prefix,
    drift_job_config,
)
from mlops_constructs.nag import logical_id, object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped
from mlops_constructs.python_function import PythonFunction, retention
from mlops_constructs.sagemaker_role import SageMakerExecutionRole
from pipeline_defs.definition import CODE_DIR, bundle_entrypoint, bundle_input, processing_image_uri

# The drift job's code bundle, with the statistics module the Baseline step writes its baseline with; a test
# (tests/unit/pipeline_definition/test_images.py) follows the job's imports through exactly these files.
BUNDLE_INCLUDES = ("monitoring_job", "monitor_stats")
_VOLUME_GB = 20


class DriftMonitoringJob(Construct):
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
        reports_bucket: s3.IBucket,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        network = NetworkAccess.of(self, deployment.env)
        stack = cdk.Stack.of(self)
        spec, env, monitoring = deployment.spec, deployment.env, deployment.env.monitoring
        reports_prefix = f"monitoring/{spec.name}/drift"
        job_config = drift_job_config(deployment, endpoint_name=endpoint_name)
        self.code = CodeBundle(
            self,
            "Code",
            includes=BUNDLE_INCLUDES,
            extra_files={"job_config.json": json.dumps(job_config, sort_keys=True, indent=2)},
        )

        # ---- 1. the window ----
        self.window = PythonFunction(
            self,
            "Window",
            handler="lambdas.monitoring.window.handler",
            description=f"Lists the capture files of one {deployment.prefix} monitoring window into a manifest",
            key=key,
            network=network,
            log_retention_days=env.storage.log_retention_days,
            service_name=f"{deployment.prefix}-drift",
            timeout=cdk.Duration.minutes(5),
            environment={
                "MODEL_NAME": spec.name,
                "ENVIRONMENT": env.name,
                "ENDPOINT_NAME": endpoint_name,
                "DATA_CAPTURE_S3_URI": f"s3://{data_capture_bucket.bucket_name}/{capture_prefix(deployment)}",
                "WINDOW_HOURS": str(monitoring.every_hours),
                "REPORTS_BUCKET": reports_bucket.bucket_name,
                "REPORTS_PREFIX": reports_prefix,
                "METRICS_NAMESPACE": DATA_QUALITY_NAMESPACE,
            },
        )
        window_role = self.window.role
        window_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[data_capture_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{capture_prefix(deployment)}/{endpoint_name}/*"]}},
            )
        )
        window_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject"],
                resources=[reports_bucket.arn_for_objects(f"{reports_prefix}/*")],
            )
        )
        allow_unscoped(
            window_role,
            actions=["cloudwatch:PutMetricData"],
            reason="the window publishes CaptureObjects, limited to the data-quality namespace by condition.",
            conditions={"StringEquals": {"cloudwatch:namespace": DATA_QUALITY_NAMESPACE}},
        )
        key.grant(window_role, "kms:Encrypt", "kms:GenerateDataKey")
        cdk.Validations.of(window_role).acknowledge(
            cdk.Acknowledgment(
                id=object_finding(self, reports_bucket.bucket_name, f"{reports_prefix}/*"),
                reason="Manifests are written per window under the model's drift-report prefix.",
            )
        )

        # The Processing jobs' role: read captures, baseline, shards and the code bundle; write reports; publish drift
        # metrics.
        self.job_role = SageMakerExecutionRole(
            self,
            "JobRole",
            description=f"Drift monitoring jobs of {deployment.prefix}",
            key=key,
            reads=[
                (data_capture_bucket, f"{capture_prefix(deployment)}/*"),
                (artifacts_bucket, f"{current_baseline_prefix(deployment)}/*"),
                (reports_bucket, f"{reports_prefix}/*"),
            ],
            writes=[(reports_bucket, f"{reports_prefix}/*")],
            image_repositories=["sagemaker-scikit-learn"],
            log_groups="/aws/sagemaker/ProcessingJobs*",
            metrics_namespace=DATA_QUALITY_NAMESPACE,
            lists_prefixes=True,
        )
        self.code.grant_read(self.job_role)
        if network is not None:
            network.grant_sagemaker_vpc_access(self.job_role)

        # ---- the state machine ----
        image = processing_image_uri(env.region)
        baseline_uri = f"s3://{artifacts_bucket.bucket_name}/{current_baseline_prefix(deployment)}/data-quality"
        name_prefix = deployment.prefix[:20].rstrip("-")

        def job(
            kind: str,
            *,
            arguments: list[str],
            inputs: list[dict[str, object]],
            output_uri_path: str,
            instance_count: int,
            isolated: bool,
        ) -> sfn.CustomState:
            return sfn.CustomState(
                self,
                kind,
                state_json={
                    "Type": "Task",
                    "Resource": f"arn:{stack.partition}:states:::sagemaker:createProcessingJob.sync",
                    "Parameters": {
                        # Unique per window and per execution (a retried run must not collide with a failed one).
                        "ProcessingJobName.$": f"States.Format('{name_prefix}-{kind[0].lower()}-{{}}-{{}}', "
                        "$.window.job_name_suffix, States.ArrayGetItem(States.StringSplit($$.Execution.Name, '-'), 0))",
                        "RoleArn": self.job_role.role_arn,
                        "AppSpecification": {
                            "ImageUri": image,
                            "ContainerEntrypoint": bundle_entrypoint(["python3", "-m", "monitoring_job", *arguments]),
                        },
                        "Environment": {"PYTHONPATH": CODE_DIR},
                        "ProcessingInputs": [
                            *inputs,
                            {
                                "InputName": "baseline",
                                "S3Input": {
                                    "S3Uri": baseline_uri,
                                    "LocalPath": "/opt/ml/processing/input/baseline",
                                    "S3DataType": "S3Prefix",
                                    "S3InputMode": "File",
                                    "S3DataDistributionType": "FullyReplicated",
                                },
                            },
                            bundle_input(self.code.s3_uri),
                        ],
                        "ProcessingOutputConfig": {
                            "KmsKeyId": key.key_arn,
                            "Outputs": [
                                {
                                    "OutputName": "report",
                                    "S3Output": {
                                        "S3Uri.$": output_uri_path,
                                        "LocalPath": "/opt/ml/processing/output",
                                        "S3UploadMode": "EndOfJob",
                                    },
                                }
                            ],
                        },
                        "ProcessingResources": {
                            "ClusterConfig": {
                                "InstanceCount": instance_count,
                                "InstanceType": monitoring.instance_type,
                                "VolumeSizeInGB": _VOLUME_GB,
                                "VolumeKmsKeyId": key.key_arn,
                            }
                        },
                        "NetworkConfig": {
                            "EnableNetworkIsolation": isolated,
                            "EnableInterContainerTrafficEncryption": True,
                            # Isolated environments: in the platform's subnets (ADR 0019).
                            **(
                                {
                                    "VpcConfig": {
                                        "Subnets": network.subnet_ids,
                                        "SecurityGroupIds": network.security_group_ids,
                                    }
                                }
                                if network
                                else {}
                            ),
                        },
                        "StoppingCondition": {"MaxRuntimeInSeconds": monitoring.max_runtime_seconds},
                        "Tags": [{"Key": k, "Value": v} for k, v in sorted(deployment.tags.items())],
                    },
                    "ResultPath": f"$.{kind.lower()}",
                    "ResultSelector": {
                        "ProcessingJobArn.$": "$.ProcessingJobArn",
                        "ProcessingJobStatus.$": "$.ProcessingJobStatus",
                    },
                },
            )

        config_path = f"{CODE_DIR}/job_config.json"
        common = [
            "--baseline",
            "/opt/ml/processing/input/baseline",
            "--config",
            config_path,
            "--output",
            "/opt/ml/processing/output",
            "--violations-exit-code",
            "0",
        ]
        analyze = job(
            "Analyze",
            arguments=[
                "analyze",
                "--input",
                "/opt/ml/processing/input/capture",
                "--shard-output-only",
                "--no-publish",
                *common,
            ],
            inputs=[
                {
                    "InputName": "capture",
                    "S3Input": {
                        "S3Uri.$": "$.window.manifest_uri",
                        "LocalPath": "/opt/ml/processing/input/capture",
                        "S3DataType": "ManifestFile",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "ShardedByS3Key",
                    },
                }
            ],
            output_uri_path="States.Format('{}/shards', $.window.output_prefix)",
            instance_count=monitoring.instance_count,
            isolated=True,
        )
        merge = job(
            "Merge",
            arguments=["merge", "--shards", "/opt/ml/processing/input/shards", *common],
            inputs=[
                {
                    "InputName": "shards",
                    "S3Input": {
                        "S3Uri.$": "States.Format('{}/shards', $.window.output_prefix)",
                        "LocalPath": "/opt/ml/processing/input/shards",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                }
            ],
            output_uri_path="States.Format('{}/report', $.window.output_prefix)",
            instance_count=1,
            isolated=False,  # publishes metrics
        )
        window = tasks.LambdaInvoke(
            self,
            "ListCaptures",
            lambda_function=self.window.function,
            payload=sfn.TaskInput.from_object({"time.$": "$.time"}),
            result_selector={"window.$": "$.Payload"},
            result_path="$.result",
            retry_on_service_exceptions=True,
        )
        # Flatten: later states read $.window.
        flatten = sfn.Pass(self, "Flatten", parameters={"time.$": "$.time", "window.$": "$.result.window"})
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=topic,
            subject=f"Drift monitoring of {deployment.prefix} failed",
            message=sfn.TaskInput.from_json_path_at("$.error.Cause"),
            result_path=sfn.JsonPath.DISCARD,
        )
        failed = sfn.Fail(
            self,
            "MonitoringFailed",
            error="MonitoringJobFailed",
            cause="A drift-monitoring job failed; see the execution history",
        )
        notify.next(failed)
        for step in (analyze, merge):
            step.add_retry(
                errors=["SageMaker.AmazonSageMakerException"],
                interval=cdk.Duration.seconds(30),
                max_attempts=3,
                backoff_rate=2,
            )
            step.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        window.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        definition = window.next(flatten).next(
            sfn.Choice(self, "AnyCaptures?")
            .when(
                sfn.Condition.number_equals("$.window.object_count", 0),
                sfn.Succeed(self, "NoCaptures", comment="Nothing captured in the window"),
            )
            .otherwise(analyze.next(merge).next(sfn.Succeed(self, "Done")))
        )
        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=retention(env.storage.log_retention_days),
            encryption_key=key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            timeout=cdk.Duration.seconds(2 * monitoring.max_runtime_seconds + 1800),
        )
        sm_role = self.state_machine.role
        sm_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[
                    stack.format_arn(service="sagemaker", resource="processing-job", resource_name=f"{name_prefix}-*")
                ],
            )
        )
        sm_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        sm_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
                    )
                ],
            )
        )
        # The owner topic is encrypted with the platform key.
        key.grant(sm_role, "kms:GenerateDataKey", "kms:Decrypt")
        partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
        sm_arn = f"arn:{partition}:sagemaker:{stack.region}:{stack.account}"
        for finding, reason in {
            f"Resource::{sm_arn}:processing-job/{name_prefix}-*": "Job names are made per window and execution "
            "under the model's prefix.",
            f"Resource::<{logical_id(self.window.function)}.Arn>:*": "Step Functions invokes the window function "
            "by version-qualified ARN.",
            "Resource::*": "X-Ray and CloudWatch Logs delivery actions have no resource-level permissions.",
        }.items():
            cdk.Validations.of(sm_role).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )

        rule = events.Rule(
            self,
            "Schedule",
            description=f"Drift monitoring of {deployment.prefix} every {monitoring.every_hours} h",
            # Ten minutes past the hour, once the window's capture files have landed.
            schedule=events.Schedule.cron(
                minute="10", hour="*" if monitoring.every_hours == 1 else f"*/{monitoring.every_hours}"
            ),
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                input=events.RuleTargetInput.from_object({"time": events.EventField.time}),
            )
        )

    def metric_failed(self) -> cloudwatch.IMetric:
        return self.state_machine.metric_failed(period=cdk.Duration.hours(1))

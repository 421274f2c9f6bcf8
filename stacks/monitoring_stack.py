"""Per model and environment: drift and quality monitoring (backend from config), the ground-truth
evaluation, alarms to the owner (and retraining triggers) and the model's dashboard."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from config import ModelDeployment, MonitoringBackend
from mlops_constructs.drift_job import DriftMonitoringJob
from mlops_constructs.model_dashboard import ModelDashboard
from mlops_constructs.model_monitor import ModelMonitorSchedules
from mlops_constructs.monitoring_alarms import MonitoringAlarms
from mlops_constructs.quality_evaluation import QualityEvaluation
from stacks.platform_stack import PlatformStack
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        platform: PlatformStack,
        serving: ServingStack,
        training: TrainingStack,
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope,
            id_,
            description=f"MLOps {deployment.prefix}: drift and quality monitoring, alarms, dashboard",
            **kwargs,  # type: ignore[arg-type]
        )
        model = platform.models[deployment.spec.name]
        endpoint = serving.endpoint
        buckets = {
            name: platform.bucket(self, name)
            for name in ("Artifacts", "DataCapture", "GroundTruth", "MonitoringReports")
        }
        self.quality = QualityEvaluation(
            self,
            "QualityEvaluation",
            deployment=deployment,
            key=platform.key,
            data_capture_bucket=buckets["DataCapture"],
            ground_truth_bucket=buckets["GroundTruth"],
            reports_bucket=buckets["MonitoringReports"],
            endpoint_name=endpoint.endpoint_name,
            variant_name=endpoint.variant_name,
        )
        failure_metrics: list[tuple[str, cloudwatch.IMetric]] = [
            ("QualityEvaluation", self.quality.function.function.metric_errors(period=cdk.Duration.hours(1))),
        ]
        schedule_name: str | None = None
        if deployment.env.monitoring.backend is MonitoringBackend.PROCESSING:
            self.drift_job = DriftMonitoringJob(
                self,
                "DriftJob",
                deployment=deployment,
                key=platform.key,
                endpoint_name=endpoint.endpoint_name,
                artifacts_bucket=buckets["Artifacts"],
                data_capture_bucket=buckets["DataCapture"],
                reports_bucket=buckets["MonitoringReports"],
                topic=model.owner_topic.topic,
            )
            failure_metrics.append(("DriftJob", self.drift_job.metric_failed()))
        else:
            self.model_monitor = ModelMonitorSchedules(
                self,
                "ModelMonitor",
                deployment=deployment,
                key=platform.key,
                endpoint_name=endpoint.endpoint_name,
                artifacts_bucket=buckets["Artifacts"],
                data_capture_bucket=buckets["DataCapture"],
                ground_truth_bucket=buckets["GroundTruth"],
                reports_bucket=buckets["MonitoringReports"],
            )
            schedule_name = self.model_monitor.schedule_names["DataQuality"]
        self.alarms = MonitoringAlarms(
            self,
            "Alarms",
            deployment=deployment,
            topic=model.owner_topic.topic,
            endpoint_name=endpoint.endpoint_name,
            variant_name=endpoint.variant_name,
            data_quality_schedule_name=schedule_name,
            failure_metrics=failure_metrics,
        )
        self.dashboard = ModelDashboard(
            self,
            "Dashboard",
            deployment=deployment,
            endpoint_name=endpoint.endpoint_name,
            feature_drift_alarms=self.alarms.feature_drift,
            deployment_functions={
                step: serving.automation.functions[step].function.function_name for step in ("promote", "rollback")
            },
            pipeline_name=training.pipeline.pipeline_name,
        )
        self.add_stack_dependency(platform)
        self.add_stack_dependency(serving)
        cdk.Tags.of(self).add("mlops:model", deployment.spec.name)
        cdk.Tags.of(self).add("mlops:owner", deployment.spec.owner.email)

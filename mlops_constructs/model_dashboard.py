"""The dashboard of one model in one environment: traffic, latency and errors per variant; drift per feature;
production quality over time by model version; business KPIs; deployments and retrainings marked."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from config import ModelDeployment, MonitoringBackend
from mlops_constructs.monitoring_alarms import QUALITY_METRIC
from mlops_constructs.monitoring_common import DATA_QUALITY_NAMESPACE, MODEL_QUALITY_NAMESPACE


class ModelDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        endpoint_name: str,
        feature_drift_alarms: Mapping[str, cloudwatch.IAlarm],
        deployment_functions: Mapping[str, str],
        pipeline_name: str,
    ) -> None:
        super().__init__(scope, id_)
        spec, env = deployment.spec, deployment.env
        hour = cdk.Duration.hours(1)
        model_dims = f'Model="{spec.name}" Environment="{env.name}"'

        per_variant = "AWS/SageMaker,EndpointName,VariantName"
        endpoint_filter = f'EndpointName="{endpoint_name}"'
        traffic = [
            cloudwatch.GraphWidget(
                title="Invocations per variant",
                width=8,
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{per_variant}}} {endpoint_filter} "
                        "MetricName=\"Invocations\"', 'Sum', 300)",
                        using_metrics={},
                        label="Invocations",
                        period=cdk.Duration.minutes(5),
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                title="p99 model latency per variant (microseconds)",
                width=8,
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{per_variant}}} {endpoint_filter} "
                        "MetricName=\"ModelLatency\"', 'p99', 300)",
                        using_metrics={},
                        label="ModelLatency p99",
                        period=cdk.Duration.minutes(5),
                    )
                ],
            ),
            cloudwatch.GraphWidget(
                title="5XX and model errors per variant",
                width=8,
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{per_variant}}} {endpoint_filter} "
                        '(MetricName="Invocation5XXErrors" OR MetricName="InvocationModelErrors")\', \'Sum\', 300)',
                        using_metrics={},
                        label="errors",
                        period=cdk.Duration.minutes(5),
                    )
                ],
            ),
        ]
        drift_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.AlarmStatusWidget(
                title="Drift per feature", width=12, alarms=list(feature_drift_alarms.values())
            )
        ]
        if env.monitoring.backend is MonitoringBackend.PROCESSING:
            drift_widgets.append(
                cloudwatch.GraphWidget(
                    title="Drift distance per feature",
                    width=12,
                    left=[
                        cloudwatch.MathExpression(
                            expression=f"SEARCH('{{{DATA_QUALITY_NAMESPACE},Environment,Feature,Model}} {model_dims} "
                            "MetricName=\"FeatureDrift\"', 'Maximum', 3600)",
                            using_metrics={},
                            label="FeatureDrift",
                            period=hour,
                        )
                    ],
                )
            )
        quality_metric = QUALITY_METRIC[spec.objective]
        versions = f"{MODEL_QUALITY_NAMESPACE},Environment,Model,ModelVersion,Variant"
        quality = [
            cloudwatch.GraphWidget(
                title=f"Production {spec.objective.value} by model version (threshold {spec.absolute_threshold})",
                width=12,
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{versions}}} {model_dims} "
                        f"MetricName=\"{quality_metric}\"', 'Average', 3600)",
                        using_metrics={},
                        label=quality_metric,
                        period=hour,
                    )
                ],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=spec.absolute_threshold, label="threshold")],
            ),
            cloudwatch.GraphWidget(
                title="Label coverage",
                width=12,
                left=[
                    cloudwatch.Metric(
                        namespace=MODEL_QUALITY_NAMESPACE,
                        metric_name="LabelCoverage",
                        dimensions_map={"Model": spec.name, "Environment": env.name},
                        statistic="Average",
                        period=hour,
                    )
                ],
            ),
        ]
        kpis = [
            cloudwatch.GraphWidget(
                title=f"{kpi.description} ({kpi.unit})",
                width=8,
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{MODEL_QUALITY_NAMESPACE},Environment,Model,Variant}} {model_dims} "
                        f"MetricName=\"{kpi.name}\"', 'Sum', 3600)",
                        using_metrics={},
                        label=kpi.name,
                        period=hour,
                    )
                ],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=kpi.target, label="target")]
                if kpi.target is not None
                else None,
            )
            for kpi in spec.business_metrics
        ]
        # Deployments (promote / rollback invocations) and retrainings (pipeline executions) as markers.
        events = [
            cloudwatch.GraphWidget(
                title="Deployments and retrainings",
                width=24,
                stacked=False,
                left=[
                    *(
                        cloudwatch.Metric(
                            namespace="AWS/Lambda",
                            metric_name="Invocations",
                            label=step,
                            dimensions_map={"FunctionName": name},
                            statistic="Sum",
                            period=hour,
                        )
                        for step, name in sorted(deployment_functions.items())
                    ),
                    cloudwatch.Metric(
                        namespace="AWS/Sagemaker/ModelBuildingPipeline",
                        metric_name="ExecutionStarted",
                        dimensions_map={"PipelineName": pipeline_name},
                        statistic="Sum",
                        period=hour,
                        label="retraining started",
                    ),
                ],
            )
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"mlops-{deployment.prefix}",
            widgets=[traffic, drift_widgets, quality, kpis, events],
            default_interval=cdk.Duration.days(7),
        )

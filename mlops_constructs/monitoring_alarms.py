"""Monitoring alarms of one model: drift per feature and overall, production quality under the threshold,
business KPIs off target, missing data (no captures, no labels) and monitoring failures. All notify the
owner; drift, quality and KPI alarms are the retraining loop's triggers (``retraining_triggers``)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import Direction, ModelDeployment, MonitoringBackend, ObjectiveMetric
from mlops_constructs.monitoring_common import (
    DATA_QUALITY_NAMESPACE,
    MODEL_MONITOR_DATA_NAMESPACE,
    MODEL_QUALITY_NAMESPACE,
)

# lambdas/quality publishes these names per objective metric.
QUALITY_METRIC = {
    ObjectiveMetric.AUC: "AUC",
    ObjectiveMetric.PR_AUC: "PRAUC",
    ObjectiveMetric.F1: "F1",
    ObjectiveMetric.PRECISION: "Precision",
    ObjectiveMetric.RECALL: "Recall",
    ObjectiveMetric.ACCURACY: "Accuracy",
}


class MonitoringAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        topic: sns.ITopic,
        endpoint_name: str,
        variant_name: str,
        data_quality_schedule_name: str | None,
        failure_metrics: Sequence[tuple[str, cloudwatch.IMetric]],
    ) -> None:
        super().__init__(scope, id_)
        spec, monitoring = deployment.spec, deployment.env.monitoring
        prefix = deployment.prefix
        self._prefix = prefix
        window = cdk.Duration.hours(monitoring.every_hours)
        model_dims = {"Model": spec.name, "Environment": deployment.env.name}
        variant_dims = {**model_dims, "Variant": variant_name}
        action = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.IAlarm] = []

        def alarm(
            id_: str,
            *,
            name: str,
            description: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            operator: cloudwatch.ComparisonOperator,
            missing: cloudwatch.TreatMissingData,
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                id_,
                alarm_name=f"{prefix}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=operator,
                evaluation_periods=1,
                treat_missing_data=missing,
            )
            created.add_alarm_action(action)
            created.add_ok_action(action)
            self.alarms.append(created)
            return created

        # ---- drift, per feature and overall ----
        self.feature_drift: dict[str, cloudwatch.Alarm] = {}
        for feature in spec.feature_names:
            if monitoring.backend is MonitoringBackend.PROCESSING:
                # The job's verdict: distance over the spec's threshold AND statistically significant.
                metric = cloudwatch.Metric(
                    namespace=DATA_QUALITY_NAMESPACE,
                    metric_name="FeatureDriftDetected",
                    dimensions_map={**model_dims, "Feature": feature},
                    statistic="Maximum",
                    period=window,
                )
                threshold, operator = 1.0, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            else:
                # Model Monitor's distance for the feature, compared with the spec's threshold.
                metric = cloudwatch.Metric(
                    namespace=MODEL_MONITOR_DATA_NAMESPACE,
                    metric_name=f"feature_baseline_drift_{feature}",
                    dimensions_map={"EndpointName": endpoint_name, "ScheduleName": data_quality_schedule_name or ""},
                    statistic="Maximum",
                    period=window,
                )
                threshold = spec.drift_threshold_of(feature)
                operator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            self.feature_drift[feature] = alarm(
                f"Drift-{feature}",
                name=f"drift-{feature.replace('_', '-')}",
                description=f"Feature {feature} of {prefix} drifted from its training baseline (threshold "
                f"{spec.drift_threshold_of(feature)})",
                metric=metric,
                threshold=threshold,
                operator=operator,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self.drift = cloudwatch.CompositeAlarm(
            self,
            "Drift",
            composite_alarm_name=f"{prefix}-drift",
            alarm_description=f"Any feature of {prefix} drifted",
            alarm_rule=cloudwatch.AlarmRule.any_of(*self.feature_drift.values()),
        )
        self.drift.add_alarm_action(action)

        # ---- production quality on ground truth ----
        quality_metric = QUALITY_METRIC[spec.objective]
        self._quality_metric = quality_metric
        self.quality = alarm(
            "Quality",
            name=f"quality-{quality_metric.lower()}",
            description=f"Production {spec.objective.value} of {prefix} on ground truth below "
            f"{spec.absolute_threshold}",
            metric=cloudwatch.Metric(
                namespace=MODEL_QUALITY_NAMESPACE,
                metric_name=quality_metric,
                dimensions_map=variant_dims,
                statistic="Average",
                period=window,
            ),
            threshold=spec.absolute_threshold,
            operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        # ---- business KPIs with a target ----
        self.kpis: dict[str, cloudwatch.Alarm] = {}
        for kpi in spec.business_metrics:
            if kpi.target is None:
                continue
            lower_better = kpi.direction is Direction.LOWER_IS_BETTER
            self.kpis[kpi.name] = alarm(
                f"Kpi-{kpi.name}",
                name=f"kpi-{kpi.name.replace('_', '-')}",
                description=f"{kpi.description} ({kpi.unit}) of {prefix} is "
                f"{'above' if lower_better else 'below'} its target {kpi.target}",
                metric=cloudwatch.Metric(
                    namespace=MODEL_QUALITY_NAMESPACE,
                    metric_name=kpi.name,
                    dimensions_map=variant_dims,
                    statistic="Sum",
                    period=window,
                ),
                threshold=kpi.target,
                operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                if lower_better
                else cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        # ---- missing data ----
        missing_period = cdk.Duration.hours(monitoring.missing_data_hours)
        for key, name, metric_name, what in (
            ("NoCaptures", "no-captures", "Predictions", "captured predictions"),
            ("NoLabels", "no-labels", "LabelsReceived", "ground-truth labels"),
        ):
            alarm(
                key,
                name=name,
                description=f"No {what} for {prefix} in {monitoring.missing_data_hours} h",
                metric=cloudwatch.Metric(
                    namespace=MODEL_QUALITY_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map=model_dims,
                    statistic="Sum",
                    period=missing_period,
                ),
                threshold=1,
                operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )

        # ---- monitoring itself failed ----
        for key, failures in failure_metrics:
            alarm(
                f"Failed-{key}",
                name=f"monitoring-failed-{key.lower()}",
                description=f"The {key} monitoring job of {prefix} failed",
                metric=failures,
                threshold=1,
                operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    @property
    def retraining_triggers(self) -> list[cloudwatch.IAlarm]:
        """Alarms whose ALARM state may start a retraining: drift, quality, business KPIs."""
        return [self.drift, self.quality, *self.kpis.values()]

    @property
    def retraining_trigger_names(self) -> list[str]:
        """The same alarms' names as literals (other stacks match on them without a cross-stack reference)."""
        return [
            self._prefix + "-drift",
            self._prefix + f"-quality-{self._quality_metric.lower()}",
            *(self._prefix + f"-kpi-{name.replace('_', '-')}" for name in self.kpis),
        ]

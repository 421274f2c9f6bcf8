"""Alarms on an endpoint's production variant: errors, model errors, p99 latency and no traffic.

Metrics are ``AWS/SageMaker`` with dimensions ``EndpointName`` and ``VariantName``, 1-minute resolution.
``Invocation5XXErrors`` and ``InvocationModelErrors`` are 1 per failed request and 0 otherwise, so their
Average over a period is the error rate. ``ModelLatency`` is in microseconds (docs/aws-facts.md#endpoint-metrics).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from config import EndpointSettings

NAMESPACE = "AWS/SageMaker"
MICROSECONDS_PER_MS = 1000


class VariantAlarms(Construct):
    """The variant's health alarms. ``rollback_alarms`` are the ones SageMaker's guardrails watch."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        variant_name: str,
        settings: EndpointSettings,
        topic: sns.ITopic,
        alarm_name_prefix: str,
    ) -> None:
        super().__init__(scope, id_)
        dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}

        def metric(name: str, statistic: str, period: cdk.Duration) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=NAMESPACE, metric_name=name, dimensions_map=dimensions, statistic=statistic, period=period
            )

        # The rollback alarms must be able to fire inside the guardrails' wait interval (checked in config).
        periods = settings.alarms

        def rollback_alarm(
            id_: str, suffix: str, description: str, metric_: cloudwatch.Metric, threshold: float
        ) -> cloudwatch.Alarm:
            return cloudwatch.Alarm(
                self,
                id_,
                alarm_name=f"{alarm_name_prefix}-{variant_name}-{suffix}",
                alarm_description=f"{endpoint_name}/{variant_name}: {description} (guardrail auto-rollback)",
                metric=metric_,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=periods.evaluation_periods,
                datapoints_to_alarm=periods.datapoints_to_alarm,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        period = cdk.Duration.seconds(periods.period_seconds)
        self.errors_5xx = rollback_alarm(
            "Errors5xx",
            "5xx-rate",
            f"5XX error rate above {settings.max_5xx_error_rate_percent}%",
            metric("Invocation5XXErrors", "Average", period),
            settings.max_5xx_error_rate_percent / 100,
        )
        self.model_errors = rollback_alarm(
            "ModelErrors",
            "model-error-rate",
            f"Model error rate above {settings.max_model_error_rate_percent}%",
            metric("InvocationModelErrors", "Average", period),
            settings.max_model_error_rate_percent / 100,
        )
        self.latency_p99 = rollback_alarm(
            "LatencyP99",
            "p99-model-latency",
            f"p99 ModelLatency above {settings.max_p99_model_latency_ms} ms",
            metric("ModelLatency", "p99", period),
            settings.max_p99_model_latency_ms * MICROSECONDS_PER_MS,  # ModelLatency is in microseconds
        )
        # SageMaker publishes no Invocations datapoint for a period without requests: how that counts is per
        # environment (breaching where traffic is always expected, not breaching on an endpoint that may idle).
        self.no_traffic = cloudwatch.Alarm(
            self,
            "NoTraffic",
            alarm_name=f"{alarm_name_prefix}-{variant_name}-no-traffic",
            alarm_description=f"{endpoint_name}/{variant_name} received no invocations for "
            f"{periods.no_traffic_period_minutes} minutes (missing data: {periods.no_traffic_missing_data.value})",
            metric=metric("Invocations", "Sum", cdk.Duration.minutes(periods.no_traffic_period_minutes)),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData[periods.no_traffic_missing_data.name],
        )
        self.rollback_alarms = (self.errors_5xx, self.model_errors, self.latency_p99)
        # Literal names (not tokens): the deployment Lambdas pass them to UpdateEndpoint's AutoRollbackConfiguration.
        self.rollback_alarm_names = [
            f"{alarm_name_prefix}-{variant_name}-{suffix}"
            for suffix in ("5xx-rate", "model-error-rate", "p99-model-latency")
        ]
        action = actions.SnsAction(topic)
        for alarm in (*self.rollback_alarms, self.no_traffic):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

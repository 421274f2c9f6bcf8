"""Alarms on an endpoint's production variant: errors, model errors, p99 latency and no traffic.

Metrics are ``AWS/SageMaker`` with dimensions ``EndpointName`` and ``VariantName``, 1-minute resolution.
``Invocation5XXErrors`` and ``InvocationModelErrors`` are 1 per failed request and 0 otherwise, so their
Average over a period is the error rate. ``ModelLatency`` is in microseconds (docs/platform-facts.md#endpoint-metrics).
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

        five_minutes = cdk.Duration.minutes(5)
        self.errors_5xx = cloudwatch.Alarm(
            self,
            "Errors5xx",
            alarm_name=f"{alarm_name_prefix}-{variant_name}-5xx-rate",
            alarm_description=f"5XX error rate of {endpoint_name}/{variant_name} above "
            f"{settings.max_5xx_error_rate_percent}% (guardrail auto-rollback)",
            metric=metric("Invocation5XXErrors", "Average", five_minutes),
            threshold=settings.max_5xx_error_rate_percent / 100,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.model_errors = cloudwatch.Alarm(
            self,
            "ModelErrors",
            alarm_name=f"{alarm_name_prefix}-{variant_name}-model-error-rate",
            alarm_description=f"Model error rate of {endpoint_name}/{variant_name} above "
            f"{settings.max_model_error_rate_percent}% (guardrail auto-rollback)",
            metric=metric("InvocationModelErrors", "Average", five_minutes),
            threshold=settings.max_model_error_rate_percent / 100,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency_p99 = cloudwatch.Alarm(
            self,
            "LatencyP99",
            alarm_name=f"{alarm_name_prefix}-{variant_name}-p99-model-latency",
            alarm_description=f"p99 ModelLatency of {endpoint_name}/{variant_name} above "
            f"{settings.max_p99_model_latency_ms} ms (guardrail auto-rollback)",
            metric=metric("ModelLatency", "p99", five_minutes),
            threshold=settings.max_p99_model_latency_ms * MICROSECONDS_PER_MS,  # ModelLatency is in microseconds
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.no_traffic = cloudwatch.Alarm(
            self,
            "NoTraffic",
            alarm_name=f"{alarm_name_prefix}-{variant_name}-no-traffic",
            alarm_description=f"{endpoint_name}/{variant_name} received no invocations for an hour",
            metric=metric("Invocations", "Sum", cdk.Duration.hours(1)),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
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

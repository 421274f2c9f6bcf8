"""The scheduled retroactive evaluation: joins ground truth with captured predictions and publishes production
quality and business metrics per variant (``lambdas/quality``). Runs for both monitoring backends.

IAM: KMS access through the key's ``grant`` method; S3 access by hand-written statements, because
``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import ModelDeployment
from lambdas.quality.settings import business_metrics_from_spec
from mlops_constructs.dead_letters import target_dead_letter_queue
from mlops_constructs.monitoring_common import MODEL_QUALITY_NAMESPACE, capture_prefix, ground_truth_prefix
from mlops_constructs.nag import object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped
from mlops_constructs.python_function import PythonFunction


class QualityEvaluation(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        data_capture_bucket: s3.IBucket,
        ground_truth_bucket: s3.IBucket,
        reports_bucket: s3.IBucket,
        endpoint_name: str,
        variant_name: str,
    ) -> None:
        super().__init__(scope, id_)
        network = NetworkAccess.of(self, deployment.env)
        monitoring = deployment.env.monitoring
        spec = deployment.spec
        self.function = PythonFunction(
            self,
            "Function",
            handler="lambdas.quality.handler.handler",
            description=f"Evaluates {deployment.prefix} on ground truth: quality and business metrics per variant",
            key=key,
            network=network,
            log_retention_days=deployment.env.storage.log_retention_days,
            service_name=f"{deployment.prefix}-quality",
            timeout=cdk.Duration.minutes(15),
            memory_size_mb=1024,
            environment={
                "MODEL_NAME": spec.name,
                "ENVIRONMENT": deployment.env.name,
                "ENDPOINT_NAME": endpoint_name,
                "DATA_CAPTURE_S3_URI": f"s3://{data_capture_bucket.bucket_name}/{capture_prefix(deployment)}",
                "GROUND_TRUTH_S3_URI": f"s3://{ground_truth_bucket.bucket_name}/{ground_truth_prefix(deployment)}",
                "REPORTS_BUCKET": reports_bucket.bucket_name,
                "DECISION_THRESHOLD": str(spec.decision_threshold),
                "LABEL_LAG_HOURS": str(monitoring.ground_truth_lag_hours),
                "WINDOW_HOURS": str(monitoring.every_hours),
                "BUSINESS_METRICS": business_metrics_from_spec(spec),
                "EXPECTED_VARIANTS": json.dumps([variant_name]),
                "QUARANTINE_PREFIX": "quality-quarantine",
            },
        )
        role = self.function.role
        reads = [
            (data_capture_bucket, f"{capture_prefix(deployment)}/*"),
            (ground_truth_bucket, f"{ground_truth_prefix(deployment)}/*"),
        ]
        for bucket, pattern in reads:
            role.add_to_policy(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(pattern)])
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [pattern]}},
                )
            )
        writes = [f"quality/{spec.name}/*", f"quality-quarantine/{spec.name}/*"]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject"],
                resources=[reports_bucket.arn_for_objects(w) for w in writes],
            )
        )
        allow_unscoped(
            role,
            actions=["cloudwatch:PutMetricData"],
            reason="the evaluation publishes production quality and KPIs, limited to the model-quality namespace.",
            conditions={"StringEquals": {"cloudwatch:namespace": MODEL_QUALITY_NAMESPACE}},
        )
        key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        for bucket, pattern in [*reads, *((reports_bucket, w) for w in writes)]:
            cdk.Validations.of(role).acknowledge(
                cdk.Acknowledgment(
                    id=object_finding(self, bucket.bucket_name, pattern),
                    reason="Captures, labels and reports are named by hour under the model's own prefix.",
                )
            )

        self.dead_letters = target_dead_letter_queue(
            self, "ScheduleDeadLetters", key=key, used_by="the evaluation schedule's target"
        )
        # A quarter past the hour: capture files of the window have been flushed by then.
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"Evaluate {deployment.prefix} on ground truth every {monitoring.every_hours} h",
            schedule=events.Schedule.cron(
                minute="15", hour="*" if monitoring.every_hours == 1 else f"*/{monitoring.every_hours}"
            ),
            targets=[
                targets.LambdaFunction(
                    self.function.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.hours(2),
                )
            ],
        )

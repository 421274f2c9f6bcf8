"""Feature ingestion for one model: raw events -> shared feature code -> PutRecord into its feature groups.

Batch: JSONL files of raw events put under ``landing/<model>/`` in the landing bucket trigger (S3 -> EventBridge)
the batch function. Single events: invoke the event function directly (or from an API / EventBridge rule).
Both keep each customer's recent transactions in a history table (rolling windows, idempotency) and write
rejects with their reason to ``ingestion-dead-letter/<model>/`` in the same bucket.

IAM: DynamoDB and KMS access through the table's and key's ``grant`` methods; S3 access by hand-written
statements, because ``bucket.grant_*`` would be wider (docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

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
from mlops_constructs.nag import object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.python_function import PythonFunction


class FeatureIngestion(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        landing_bucket: s3.IBucket,
        feature_group_arns: dict[str, str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, id_)
        network = NetworkAccess.of(self, deployment.env)
        spec = deployment.spec
        self.landing_prefix = f"landing/{spec.name}/"
        self.dead_letter_prefix = f"ingestion-dead-letter/{spec.name}"
        self.history = dynamodb.Table(
            self,
            "History",
            partition_key=dynamodb.Attribute(name="customer_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=removal_policy,
        )
        environment = {
            "FEATURE_GROUPS": json.dumps(
                {g.name: deployment.feature_group_name(g.name) for g in spec.feature_groups}, sort_keys=True
            ),
            "HISTORY_TABLE": self.history.table_name,
            "DEAD_LETTER_BUCKET": landing_bucket.bucket_name,
            "DEAD_LETTER_PREFIX": self.dead_letter_prefix,
        }
        common = {
            "key": key,
            "network": network,
            "log_retention_days": deployment.env.storage.log_retention_days,
            "environment": environment,
            "service_name": f"{deployment.prefix}-ingestion",
        }
        self.batch = PythonFunction(
            self,
            "Batch",
            handler="lambdas.ingestion.handler.s3_handler",
            description=f"Ingest raw-event files into the {deployment.prefix} feature groups",
            timeout=cdk.Duration.minutes(15),
            memory_size_mb=1024,
            **common,  # type: ignore[arg-type]
        )
        self.single = PythonFunction(
            self,
            "Single",
            handler="lambdas.ingestion.handler.event_handler",
            description=f"Ingest one raw event into the {deployment.prefix} feature groups",
            timeout=cdk.Duration.seconds(30),
            memory_size_mb=512,
            **common,  # type: ignore[arg-type]
        )
        dead_letters = landing_bucket.arn_for_objects(f"{self.dead_letter_prefix}/*")
        for fn in (self.batch, self.single):
            fn.role.add_to_policy(
                iam.PolicyStatement(actions=["sagemaker:PutRecord"], resources=list(feature_group_arns.values()))
            )
            self.history.grant(fn.role, "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
            fn.role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[dead_letters]))
            key.grant(fn.role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
            cdk.Validations.of(fn.role).acknowledge(
                cdk.Acknowledgment(
                    id=object_finding(self, landing_bucket.bucket_name, f"{self.dead_letter_prefix}/*"),
                    reason="Dead-letter objects are named per source file; the model's dead-letter prefix is the "
                    "narrowest scope that covers them.",
                )
            )
        self.batch.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[landing_bucket.arn_for_objects(f"{self.landing_prefix}*")]
            )
        )
        cdk.Validations.of(self.batch.role).acknowledge(
            cdk.Acknowledgment(
                id=object_finding(self, landing_bucket.bucket_name, f"{self.landing_prefix}*"),
                reason="The batch function reads whichever raw-event file landed under the model's landing "
                "prefix; file names are chosen by producers.",
            )
        )

        # Failed asynchronous deliveries of the trigger are kept, not dropped.
        self.trigger_dlq = target_dead_letter_queue(
            self, "TriggerDeadLetters", key=key, used_by="the raw-event rule's Lambda target"
        )
        events.Rule(
            self,
            "OnRawEvents",
            description=f"Raw-event files for {deployment.prefix} landed",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [landing_bucket.bucket_name]},
                    "object": {"key": [{"prefix": self.landing_prefix}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.batch.function,
                    dead_letter_queue=self.trigger_dlq,
                    retry_attempts=4,
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )

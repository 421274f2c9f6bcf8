"""The deployment history of one model in one environment: every deployment, its outcome, and the pinned
previous version a rollback restores (docs/architecture.md#serving-pointer). Stateful: retained outside dev."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from config import ModelDeployment


def history_table_name(deployment: ModelDeployment) -> str:
    return f"mlops-{deployment.env.name}-{deployment.spec.name}-deployments"


class ModelStateTable(Construct):
    """A per-model DynamoDB table (keys ``pk``/``sk``), named for other stacks and tools, KMS-encrypted with PITR;
    deletion protection and RETAIN outside dev."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        table_name: str,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        time_to_live_attribute: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.table = dynamodb.Table(
            self,
            "Table",
            # Named so the automation (other stacks, the CLI) finds it without a CloudFormation export.
            table_name=table_name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=time_to_live_attribute,
            deletion_protection=removal_policy == cdk.RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )


def DeploymentHistory(  # noqa: N802 - reads like the construct it builds
    scope: Construct, id_: str, *, deployment: ModelDeployment, key: kms.IKey, removal_policy: cdk.RemovalPolicy
) -> ModelStateTable:
    """Every deployment of the model, its outcome, and the pinned previous version (lambdas/deployment/history.py)."""
    return ModelStateTable(
        scope, id_, table_name=history_table_name(deployment), key=key, removal_policy=removal_policy
    )


def retraining_state_table_name(deployment: ModelDeployment) -> str:
    return f"mlops-{deployment.env.name}-{deployment.spec.name}-retraining"


def RetrainingState(  # noqa: N802 - reads like the construct it builds
    scope: Construct, id_: str, *, deployment: ModelDeployment, key: kms.IKey, removal_policy: cdk.RemovalPolicy
) -> ModelStateTable:
    """The retraining loop's lock, runs and skipped triggers, pause flag and task tokens (expiring items)."""
    return ModelStateTable(
        scope,
        id_,
        table_name=retraining_state_table_name(deployment),
        key=key,
        removal_policy=removal_policy,
        time_to_live_attribute="expires_at",
    )

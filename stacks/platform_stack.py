"""The stateful layer of one environment: key, buckets, Glue database, per-model feature groups,
model registry and owner topics. Retained, with termination protection, outside dev."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config import Environment, ModelDeployment
from config.naming import bucket_name
from mlops_constructs.athena import AthenaWorkgroup, LabelsTable, glue_database_name
from mlops_constructs.deployment_history import DeploymentHistory, ModelStateTable, RetrainingState
from mlops_constructs.encryption import PlatformKey, key_arn_parameter_name
from mlops_constructs.feature_store import FeatureStore
from mlops_constructs.model_registry import ModelRegistry
from mlops_constructs.network import NetworkAccess, PlatformNetwork
from mlops_constructs.owner_notifications import OwnerTopic
from mlops_constructs.python_function import retention
from mlops_constructs.secure_bucket import AccessLogBucket, Expiry, SecureBucket


@dataclass(frozen=True, kw_only=True)
class ModelStatefulResources:
    """What the stateless stacks of one model need from the platform stack."""

    deployment: ModelDeployment
    feature_store: FeatureStore
    registry: ModelRegistry
    owner_topic: OwnerTopic
    deployment_history: ModelStateTable
    retraining_state: ModelStateTable


class PlatformStack(cdk.Stack):
    def network_access(self, scope: Construct) -> NetworkAccess | None:
        """The isolated network as ``scope``'s stack reads it (None in public mode)."""
        return NetworkAccess.of(scope, self.mlops_environment)

    @property
    def availability_zones(self) -> list[str]:
        """From config: the zones of the isolated subnets, so synth looks none up."""
        return list(self.mlops_environment.network.availability_zones(self.region))

    def bucket(self, scope: Construct, purpose: str) -> s3.IBucket:
        """A platform bucket, imported by name into another stack of the same environment (once per scope)."""
        existing = scope.node.try_find_child(f"{purpose}Bucket")
        if existing is not None:
            return cast(s3.IBucket, existing)
        return s3.Bucket.from_bucket_name(scope, f"{purpose}Bucket", self.bucket_names[purpose])

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        environment: Environment,
        deployments: Sequence[ModelDeployment],
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope,
            id_,
            description=f"MLOps platform, stateful layer ({environment.name}): key, buckets, feature store, registry",
            termination_protection=environment.termination_protection,
            **kwargs,  # type: ignore[arg-type]
        )
        self.mlops_environment = environment
        removal = cdk.RemovalPolicy.RETAIN if environment.retain_stateful else cdk.RemovalPolicy.DESTROY
        storage = environment.storage
        self.key = PlatformKey(
            self,
            "Encryption",
            alias=f"alias/mlops-{environment.name}",
            arn_parameter_name=key_arn_parameter_name(environment.name),
            removal_policy=removal,
        ).key

        self.network = (
            PlatformNetwork(
                self,
                "Network",
                environment=environment,
                key=self.key,
                log_retention=retention(storage.log_retention_days),
            )
            if environment.network.isolated
            else None
        )

        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            removal_policy=removal,
            expiration=cdk.Duration.days(storage.access_logs_expiration_days),
        ).bucket

        # Data buckets have deterministic names (account and region make them unique): per-model stacks and
        # producers address them by name, so no CloudFormation export couples the stacks (ADR 0005).
        self.bucket_names: dict[str, str] = {}

        def bucket(id_: str, expiry: Expiry | None = None, *, event_bridge_enabled: bool = False) -> s3.Bucket:
            name = bucket_name(environment, id_)
            self.bucket_names[id_] = name
            return SecureBucket(
                self,
                id_,
                key=self.key,
                access_logs=self.access_logs,
                removal_policy=removal,
                noncurrent_version_expiration=cdk.Duration.days(storage.noncurrent_version_expiration_days),
                expiry=expiry,
                event_bridge_enabled=event_bridge_enabled,
                bucket_name=name,
            ).bucket

        self.offline_store_bucket = bucket("OfflineStore")
        self.data_capture_bucket = bucket(
            "DataCapture",
            Expiry(
                infrequent_access=cdk.Duration.days(storage.data_capture_infrequent_access_days),
                expiration=cdk.Duration.days(storage.data_capture_expiration_days),
            ),
        )
        self.artifacts_bucket = bucket("Artifacts")
        self.monitoring_reports_bucket = bucket(
            "MonitoringReports",
            Expiry(
                infrequent_access=cdk.Duration.days(storage.reports_infrequent_access_days),
                expiration=cdk.Duration.days(storage.reports_expiration_days),
            ),
        )
        self.ground_truth_bucket = bucket("GroundTruth")
        # Raw events for feature ingestion land here (S3 -> EventBridge -> ingestion); rejects go beside them.
        self.landing_bucket = bucket("Landing", event_bridge_enabled=True)

        self.glue_database_name = glue_database_name(environment.name)
        database = glue.CfnDatabase(
            self,
            "OfflineStoreDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.glue_database_name,
                description=f"Feature Store offline-store tables of the {environment.name} environment",
            ),
        )
        database.apply_removal_policy(removal)
        self.athena = AthenaWorkgroup(
            self, "Athena", environment=environment.name, results_bucket=self.artifacts_bucket, key=self.key
        )

        self.models: dict[str, ModelStatefulResources] = {}
        for deployment in deployments:
            scope_ = Construct(self, deployment.spec.name)
            cdk.Tags.of(scope_).add("mlops:model", deployment.spec.name)
            cdk.Tags.of(scope_).add("mlops:owner", deployment.spec.owner.email)
            feature_store = FeatureStore(
                scope_,
                "FeatureStore",
                deployment=deployment,
                key=self.key,
                offline_store_bucket=self.offline_store_bucket,
                glue_database_name=self.glue_database_name,
                removal_policy=removal,
            )
            for group in feature_store.groups.values():
                group.node.add_dependency(database)
            LabelsTable(
                scope_,
                "Labels",
                deployment=deployment,
                database_name=self.glue_database_name,
                ground_truth_bucket=self.ground_truth_bucket,
                removal_policy=removal,
            ).node.add_dependency(database)
            self.models[deployment.spec.name] = ModelStatefulResources(
                deployment=deployment,
                feature_store=feature_store,
                registry=ModelRegistry(scope_, "Registry", deployment=deployment),
                owner_topic=OwnerTopic(scope_, "Owner", deployment=deployment, key=self.key),
                deployment_history=DeploymentHistory(
                    scope_, "DeploymentHistory", deployment=deployment, key=self.key, removal_policy=removal
                ),
                retraining_state=RetrainingState(
                    scope_, "RetrainingState", deployment=deployment, key=self.key, removal_policy=removal
                ),
            )

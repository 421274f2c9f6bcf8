"""Per model and environment: the data path into the Feature Store (ingestion) and the training pipeline."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.feature_ingestion import FeatureIngestion
from mlops_constructs.training_pipeline import TrainingPipeline
from stacks.platform_stack import PlatformStack


class TrainingStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, deployment: ModelDeployment, platform: PlatformStack, **kwargs: object
    ) -> None:
        super().__init__(
            scope,
            id_,
            description=f"MLOps {deployment.prefix}: feature ingestion and training pipeline",
            **kwargs,  # type: ignore[arg-type]
        )
        model = platform.models[deployment.spec.name]
        removal = cdk.RemovalPolicy.RETAIN if deployment.env.retain_stateful else cdk.RemovalPolicy.DESTROY
        self.ingestion = (
            None
            if not deployment.spec.raw_event_ingestion
            else FeatureIngestion(
                self,
                "Ingestion",
                deployment=deployment,
                key=platform.key,
                landing_bucket=platform.bucket(self, "Landing"),
                feature_group_arns={
                    g.name: model.feature_store.feature_group_arn(g.name) for g in deployment.spec.feature_groups
                },
                removal_policy=removal,
            )
        )
        self.pipeline = TrainingPipeline(
            self,
            "Pipeline",
            deployment=deployment,
            key=platform.key,
            artifacts_bucket=platform.bucket(self, "Artifacts"),
            offline_store_bucket=platform.bucket(self, "OfflineStore"),
            ground_truth_bucket=platform.bucket(self, "GroundTruth"),
            model_package_group_arn=model.registry.group_arn,
        )
        self.add_stack_dependency(platform)
        cdk.Tags.of(self).add("mlops:model", deployment.spec.name)
        cdk.Tags.of(self).add("mlops:owner", deployment.spec.owner.email)

"""Per model and environment: the retraining loop that closes the circle, and its triggers."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.retraining_loop import RetrainingLoop
from stacks.monitoring_stack import MonitoringStack
from stacks.platform_stack import PlatformStack
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack


class RetrainingStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        platform: PlatformStack,
        training: TrainingStack,
        serving: ServingStack,
        monitoring: MonitoringStack,
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope,
            id_,
            description=f"MLOps {deployment.prefix}: the retraining loop and its triggers",
            **kwargs,  # type: ignore[arg-type]
        )
        model = platform.models[deployment.spec.name]
        self.loop = RetrainingLoop(
            self,
            "Loop",
            deployment=deployment,
            key=platform.key,
            state_table=model.retraining_state.table,
            artifacts_bucket=platform.bucket(self, "Artifacts"),
            owner_topic=model.owner_topic.topic,
            pipeline_name=training.pipeline.pipeline_name,
            trigger_alarm_names=monitoring.alarms.retraining_trigger_names,
        )
        for dependency in (platform, training, serving, monitoring):
            self.add_stack_dependency(dependency)
        cdk.Tags.of(self).add("mlops:model", deployment.spec.name)
        cdk.Tags.of(self).add("mlops:owner", deployment.spec.owner.email)

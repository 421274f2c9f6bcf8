"""One deployable environment: the platform stack and, per model, its training, serving, monitoring and retraining
stacks."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from constructs import Construct

from config import Environment, ModelDeployment, ModelSpec, Owner
from stacks.monitoring_stack import MonitoringStack
from stacks.platform_stack import PlatformStack
from stacks.retraining_stack import RetrainingStack
from stacks.serving_stack import ServingStack
from stacks.training_stack import TrainingStack


class MlopsStage(cdk.Stage):
    """Everything one environment deploys. Stack names are prefixed with the environment name, so
    ``npx cdk deploy 'dev/*'`` deploys one environment."""

    def __init__(
        self,
        scope: Construct,
        *,
        environment: Environment,
        models: Sequence[ModelSpec],
        platform_owner: Owner,
    ) -> None:
        super().__init__(
            scope,
            environment.name,
            env=cdk.Environment(account=environment.account, region=environment.region),
        )
        # Validates every derived SageMaker name (63-character limits) before any resource is built.
        deployments = [ModelDeployment(spec=spec, env=environment) for spec in models]
        # Resource-level tags: platform-wide defaults, overridden per model inside each model's scope.
        cdk.Tags.of(self).add("mlops:environment", environment.name)
        cdk.Tags.of(self).add("mlops:model", "platform")
        cdk.Tags.of(self).add("mlops:owner", platform_owner.email)
        self.platform = PlatformStack(
            self,
            "platform",
            stack_name=f"mlops-{environment.name}-platform",
            environment=environment,
            deployments=deployments,
        )
        self.training: dict[str, TrainingStack] = {}
        self.serving: dict[str, ServingStack] = {}
        self.monitoring: dict[str, MonitoringStack] = {}
        self.retraining: dict[str, RetrainingStack] = {}
        for d in deployments:
            model = d.spec.name

            def names(kind: str, model: str = model) -> dict[str, str]:
                """Construct id and stack name of one of the model's stacks."""
                return {"id_": f"{model}-{kind}", "stack_name": f"mlops-{environment.name}-{model}-{kind}"}

            training = TrainingStack(self, **names("training"), deployment=d, platform=self.platform)
            serving = ServingStack(self, **names("serving"), deployment=d, platform=self.platform)
            monitoring = MonitoringStack(
                self, **names("monitoring"), deployment=d, platform=self.platform, serving=serving, training=training
            )
            self.retraining[model] = RetrainingStack(
                self,
                **names("retraining"),
                deployment=d,
                platform=self.platform,
                training=training,
                serving=serving,
                monitoring=monitoring,
            )
            self.training[model], self.serving[model], self.monitoring[model] = training, serving, monitoring

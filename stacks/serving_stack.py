"""Per model and environment: the data-capturing endpoint serving the model the serving pointer names, and the
deployment Lambdas that change what it serves."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.deployment_automation import DeploymentAutomation
from mlops_constructs.deployment_history import history_table_name
from mlops_constructs.serving_endpoint import ServingEndpoint
from stacks.platform_stack import PlatformStack


class ServingStack(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, *, deployment: ModelDeployment, platform: PlatformStack, **kwargs: object
    ) -> None:
        super().__init__(
            scope,
            id_,
            description=f"MLOps {deployment.prefix}: serving endpoint, scaling and alarms",
            **kwargs,  # type: ignore[arg-type]
        )
        model = platform.models[deployment.spec.name]
        self.endpoint = ServingEndpoint(
            self,
            "Serving",
            deployment=deployment,
            key=platform.key,
            artifacts_bucket=platform.bucket(self, "Artifacts"),
            data_capture_bucket=platform.bucket(self, "DataCapture"),
            owner_topic=model.owner_topic.topic,
        )
        self.automation = DeploymentAutomation(
            self,
            "Deployment",
            deployment=deployment,
            key=platform.key,
            history_table_name=history_table_name(deployment),
            model_role=self.endpoint.role,
            data_capture_bucket=platform.bucket(self, "DataCapture"),
            alarm_names=self.endpoint.alarms.rollback_alarm_names,
            variant_name=self.endpoint.variant_name,
            artifacts_bucket=platform.bucket(self, "Artifacts"),
        )
        self.add_stack_dependency(platform)
        cdk.Tags.of(self).add("mlops:model", deployment.spec.name)
        cdk.Tags.of(self).add("mlops:owner", deployment.spec.owner.email)

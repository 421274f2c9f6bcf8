"""A model in an environment: the derived, validated physical names every stack and Lambda agrees on."""

from __future__ import annotations

from dataclasses import dataclass

from config.environment import Environment
from config.model_spec import ModelSpec
from config.naming import check_sagemaker_name


@dataclass(frozen=True, kw_only=True)
class ModelDeployment:
    """``spec`` deployed in ``env``. Construction checks every name SageMaker requires against its limits."""

    spec: ModelSpec
    env: Environment

    def __post_init__(self) -> None:
        for field, value in self.sagemaker_names().items():
            check_sagemaker_name(f"models[{self.spec.name}] in {self.env.name}: {field}", value)

    @property
    def prefix(self) -> str:
        return f"{self.spec.name}-{self.env.name}"

    @property
    def model_package_group_name(self) -> str:
        return self.prefix

    @property
    def endpoint_name(self) -> str:
        return self.prefix

    @property
    def pipeline_name(self) -> str:
        return f"{self.prefix}-training"

    @property
    def registered_artifacts_prefix(self) -> str:
        """Key prefix (artifacts bucket) of every file a registered model package names: its ``model.tar.gz``
        and its drift-check baselines. The one layout rule for registered artifacts: pipeline executions write
        under ``<prefix>/<execution id>/``, the bootstrap under ``bootstrap_artifacts_prefix``; every role that
        reads a registered package's files (the pipeline's champion download, the serving model, promote and
        rollback) is granted this prefix and nothing wider."""
        return f"pipelines/{self.pipeline_name}"

    @property
    def bootstrap_artifacts_prefix(self) -> str:
        """Where ``tools.bootstrap_serving`` uploads the bootstrap package's files: inside the registered prefix,
        beside the executions' folders (SageMaker's random execution ids, lowercase letters and digits)."""
        return f"{self.registered_artifacts_prefix}/bootstrap"

    @property
    def serving_pointer_parameter(self) -> str:
        """SSM parameter holding the ARN of the model package that serves (docs/architecture.md#serving-pointer)."""
        return f"/mlops/{self.spec.name}/{self.env.name}/serving-model-package-arn"

    def feature_group_name(self, group: str) -> str:
        return f"{self.prefix}-{group}"

    def monitoring_schedule_name(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def sagemaker_names(self) -> dict[str, str]:
        names = {
            "model_package_group_name": self.model_package_group_name,
            "endpoint_name": self.endpoint_name,
            "pipeline_name": self.pipeline_name,
            "monitoring_schedule_name": self.monitoring_schedule_name("model-quality"),
        }
        for group in self.spec.feature_groups:
            names[f"feature_group_name[{group.name}]"] = self.feature_group_name(group.name)
        return names

    @property
    def tags(self) -> dict[str, str]:
        return {
            "mlops:model": self.spec.name,
            "mlops:owner": self.spec.owner.email,
            "mlops:environment": self.env.name,
        }

"""The physical names of one model in one environment, as the stacks create them (no CDK import: fast)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config import MODELS, ModelDeployment
from tools.aws_access import resolve_environment


@dataclass(frozen=True, kw_only=True)
class Target:
    """Everything the commands address. ``Target.of(deployment)`` derives it from ``config/``."""

    model: str
    environment: str
    account: str
    region: str
    endpoint_name: str
    model_package_group: str
    pointer_parameter: str
    history_table: str
    state_table: str
    state_machine_name: str
    rollback_function: str
    alarm_prefix: str

    @property
    def pk(self) -> str:
        """Partition key of this model in this environment, in the history and retraining state tables."""
        return f"{self.model}#{self.environment}"

    @property
    def label(self) -> str:
        return f"{self.model} in {self.environment}"

    @classmethod
    def of(cls, deployment: ModelDeployment) -> Target:
        model, env = deployment.spec.name, deployment.env.name
        return cls(
            model=model,
            environment=env,
            account=deployment.env.account,
            region=deployment.env.region,
            endpoint_name=deployment.endpoint_name,
            model_package_group=deployment.model_package_group_name,
            pointer_parameter=deployment.serving_pointer_parameter,
            # mlops_constructs.deployment_history.history_table_name (a test keeps the two equal)
            history_table=f"mlops-{env}-{model}-deployments",
            state_table=f"mlops-{env}-{model}-retraining",
            state_machine_name=f"mlops-{env}-{model}-retraining",
            # mlops_constructs.deployment_automation: f"{deployment.prefix}-{step}"
            rollback_function=f"{deployment.prefix}-rollback",
            alarm_prefix=f"{deployment.prefix}-",
        )


def resolve_target(
    env_name: str,
    model_name: str,
    *,
    environ: Mapping[str, str],
    account: str | None = None,
    region: str | None = None,
    context: Mapping[str, object] | None = None,
) -> Target:
    """The target for ``--env``/``--model``, with the account and region overrides ``app.py`` also honours
    (CDK context in cdk.json, ``MLOPS_<ENV>_ACCOUNT``, ``MLOPS_<ENV>_REGION``) under the ``--account`` and
    ``--region`` flags (``tools.aws_access``)."""
    env = resolve_environment(env_name, account=account, region=region, environ=environ, context=context)
    spec = next(m for m in MODELS if m.name == model_name)
    return Target.of(ModelDeployment(spec=spec, env=env))

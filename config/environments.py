"""The three environments and how a user points them at their own accounts.

Defaults below are placeholders (documented example accounts). Override per environment, in this order of
precedence (highest first):

1. CDK context:           ``npx cdk synth -c dev.account=123456789012 -c dev.region=eu-west-1``
2. environment variables: ``MLOPS_DEV_ACCOUNT=123456789012 MLOPS_DEV_REGION=eu-west-1``

``app.py`` resolves the overrides once; stacks never read context or the environment themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from config.cost import CostAssumptions
from config.environment import (
    AlarmSettings,
    ApprovalMode,
    DeploymentSettings,
    DeploymentStrategy,
    EndpointSettings,
    Environment,
    IdleSchedule,
    MissingData,
    MonitoringSettings,
    RetrainingPolicy,
)
from config.network import NetworkMode, NetworkSettings

DEV = Environment(
    name="dev",
    account="111111111111",
    region="us-east-1",
    retain_stateful=False,
    termination_protection=False,
    approval=ApprovalMode.AUTO,
    endpoint=EndpointSettings(
        instance_type="ml.m5.large",
        initial_instance_count=1,
        min_instances=1,
        max_instances=2,
        data_capture_sampling_percent=100.0,
        # A dev endpoint may sit idle for hours: no requests is not an outage there.
        alarms=AlarmSettings(no_traffic_missing_data=MissingData.NOT_BREACHING),
    ),
    deployment=DeploymentSettings(
        strategy=DeploymentStrategy.BLUE_GREEN,
        wait_interval_seconds=300,
        termination_wait_seconds=120,
        max_execution_timeout_seconds=1800,
        bake_minutes=5,
    ),
    monitoring=MonitoringSettings(every_hours=1),
    retraining=RetrainingPolicy(schedule_every_days=None, cooldown_hours=1, max_runs_per_period=10, period_days=1),
    # No endpoint hours at night or at weekends: 07:00-19:00 UTC, Monday to Friday (ADR 0020).
    idle=IdleSchedule(awake_from_hour=7, asleep_from_hour=19, weekdays_only=True),
    cost=CostAssumptions(requests_per_day=2_000, online_entities=10_000),
)

STAGING = Environment(
    name="staging",
    account="222222222222",
    region="us-east-1",
    retain_stateful=True,
    termination_protection=True,
    approval=ApprovalMode.AUTO,
    endpoint=EndpointSettings(
        instance_type="ml.m5.large",
        initial_instance_count=2,
        min_instances=2,
        max_instances=4,
        data_capture_sampling_percent=50.0,
    ),
    deployment=DeploymentSettings(strategy=DeploymentStrategy.SHADOW),
    monitoring=MonitoringSettings(every_hours=1),
    retraining=RetrainingPolicy(schedule_every_days=7, cooldown_hours=12),
    network=NetworkSettings(mode=NetworkMode.ISOLATED, cidr="10.81.0.0/16", zones=("a", "b")),
    cost=CostAssumptions(requests_per_day=20_000, online_entities=100_000),
)

PROD = Environment(
    name="prod",
    account="333333333333",
    region="us-east-1",
    retain_stateful=True,
    termination_protection=True,
    approval=ApprovalMode.MANUAL,
    endpoint=EndpointSettings(
        instance_type="ml.m5.xlarge",
        initial_instance_count=4,
        min_instances=4,
        max_instances=10,
        data_capture_sampling_percent=20.0,
    ),
    deployment=DeploymentSettings(
        strategy=DeploymentStrategy.CANARY,
        canary_size_percent=25,
        wait_interval_seconds=900,
        termination_wait_seconds=600,
        max_execution_timeout_seconds=7200,
        bake_minutes=30,
    ),
    monitoring=MonitoringSettings(every_hours=1),
    retraining=RetrainingPolicy(schedule_every_days=7, cooldown_hours=24, max_runs_per_period=2, period_days=7),
    network=NetworkSettings(mode=NetworkMode.ISOLATED, cidr="10.82.0.0/16", zones=("a", "b", "c")),
    cost=CostAssumptions(requests_per_day=500_000, online_entities=2_000_000),
)

ENVIRONMENTS: tuple[Environment, ...] = (DEV, STAGING, PROD)

# Monitoring runs on the `processing` backend everywhere (the default). An account that already uses SageMaker
# Model Monitor may opt in per environment (it is closed to new customers, ADR 0008):
#   monitoring=MonitoringSettings(backend=MonitoringBackend.MODEL_MONITOR, every_hours=1)
__all__ = ["DEV", "ENVIRONMENTS", "PROD", "STAGING", "resolve_environments"]


def resolve_environments(
    environments: tuple[Environment, ...],
    *,
    context: Callable[[str], object],
    environ: Mapping[str, str],
) -> tuple[Environment, ...]:
    """Apply account/region overrides from CDK context (``<env>.account``) or ``MLOPS_<ENV>_ACCOUNT``."""
    resolved = []
    for env in environments:

        def override(attr: str, default: str, env_name: str = env.name) -> str:
            from_context = context(f"{env_name}.{attr}")
            if from_context is not None:
                return str(from_context)
            return environ.get(f"MLOPS_{env_name.upper()}_{attr.upper()}", default)

        # replace() re-runs validation, so a bad override fails with the field named.
        resolved.append(replace(env, account=override("account", env.account), region=override("region", env.region)))
    return tuple(resolved)

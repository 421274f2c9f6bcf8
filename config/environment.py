"""Where and how the platform runs: one ``Environment`` per stage (dev, staging, prod)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from config._validate import coerce_enum, in_range, positive_int
from config.cost import CostAssumptions
from config.errors import ConfigError
from config.network import NetworkSettings

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")
# Instance families whose hosting instances have local NVMe instance storage. CreateEndpointConfig rejects
# KmsKeyId for them: the instance store is encrypted in hardware (SageMaker API, CreateEndpointConfig KmsKeyId).
_NVME_FAMILY = re.compile(r"^ml\.([a-z]+\d+[a-z]*d[a-z]*|g[4-9][a-z]*|p[3-9][a-z]*|inf\d|trn\d)\.")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


class DeploymentStrategy(StrEnum):
    """How a new model version reaches traffic (docs/architecture.md#deployment-strategies)."""

    BLUE_GREEN = "blue_green"  # SageMaker guardrails, all at once, then bake
    CANARY = "canary"  # SageMaker guardrails, one canary step
    LINEAR = "linear"  # SageMaker guardrails, n equal steps
    SHADOW = "shadow"  # candidate as a shadow variant, compared with production before the shift
    AB = "ab"  # two production variants; the state machine steps the challenger's weight


class MonitoringBackend(StrEnum):
    """Where drift and quality monitoring runs (ADR 0008).

    ``processing`` is the default everywhere. ``model_monitor`` is an opt-in for accounts that already use
    SageMaker Model Monitor: it is closed to new customers (docs/aws-facts.md#model-monitor-availability),
    so in a new account its schedules cannot be created."""

    MODEL_MONITOR = "model_monitor"  # SageMaker Model Monitor schedules (existing Model Monitor customers only)
    PROCESSING = "processing"  # the project's own drift/quality job as a scheduled Processing job


class MissingData(StrEnum):
    """How a CloudWatch alarm treats a period without a datapoint (``TreatMissingData``)."""

    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"
    IGNORE = "ignore"
    MISSING = "missing"


class ApprovalMode(StrEnum):
    AUTO = "auto"  # the automation approves the registered candidate
    MANUAL = "manual"  # a person approves in the registry; the loop waits for the event


def has_local_nvme(instance_type: str) -> bool:
    """True for hosting instance types with local NVMe storage, where EndpointConfig KmsKeyId is rejected."""
    return bool(_NVME_FAMILY.match(instance_type))


@dataclass(frozen=True, kw_only=True)
class AlarmSettings:
    """Periods of the production variant's alarms (``mlops_constructs/endpoint_alarms.py``).

    The rollback alarms (5XX rate, model-error rate, p99 latency) are what SageMaker's deployment guardrails watch
    while a deployment bakes, so they must be able to fire within ``deployment.wait_interval_seconds``:
    ``period_seconds x evaluation_periods`` may not exceed it (checked by ``Environment``). An alarm fires once
    ``datapoints_to_alarm`` of the last ``evaluation_periods`` periods breach.

    SageMaker publishes no ``Invocations`` datapoint for a period without requests, so the no-traffic alarm sees
    an idle endpoint as missing data: ``breaching`` (the default) raises it, which is what an endpoint that always
    has traffic wants; ``notBreaching`` keeps an endpoint that may sit idle (dev) out of ALARM.
    """

    period_seconds: int = 60
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2
    no_traffic_period_minutes: int = 60
    no_traffic_missing_data: MissingData = MissingData.BREACHING

    def __post_init__(self) -> None:
        # SageMaker publishes endpoint metrics once a minute: shorter or odd periods would have no data.
        positive_int("endpoint.alarms.period_seconds", self.period_seconds)
        if self.period_seconds % 60:
            raise ConfigError(
                "endpoint.alarms.period_seconds",
                f"{self.period_seconds} is not a whole number of minutes (endpoint metrics are per minute)",
            )
        positive_int("endpoint.alarms.evaluation_periods", self.evaluation_periods)
        positive_int("endpoint.alarms.datapoints_to_alarm", self.datapoints_to_alarm)
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ConfigError("endpoint.alarms.datapoints_to_alarm", "must be at most evaluation_periods")
        in_range("endpoint.alarms.no_traffic_period_minutes", self.no_traffic_period_minutes, 1, 24 * 60, unit="min")
        object.__setattr__(
            self,
            "no_traffic_missing_data",
            coerce_enum("endpoint.alarms.no_traffic_missing_data", MissingData, self.no_traffic_missing_data),
        )

    @property
    def rollback_alarm_seconds(self) -> int:
        """How long a breach must last, at most, before a rollback alarm fires."""
        return self.period_seconds * self.evaluation_periods


@dataclass(frozen=True, kw_only=True)
class EndpointSettings:
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    min_instances: int = 1
    max_instances: int = 2
    # Application Auto Scaling target: SageMakerVariantInvocationsPerInstance (per minute).
    target_invocations_per_instance: int = 300
    data_capture_sampling_percent: float = 100.0
    # Application Auto Scaling on the production variant. Off only for the middle deploy of an instance-type
    # change by CloudFormation (a scaled variant's instance type cannot change: README, ADR 0007).
    autoscaling: bool = True
    # Not supported, and rejected with the reason: serverless endpoints have no data capture (ADR 0012).
    serverless: bool = False
    # Alarm thresholds on the production variant; used for guardrail auto-rollback.
    max_p99_model_latency_ms: int = 500
    max_5xx_error_rate_percent: float = 1.0
    max_model_error_rate_percent: float = 1.0
    alarms: AlarmSettings = field(default_factory=AlarmSettings)

    def __post_init__(self) -> None:
        if self.serverless:
            raise ConfigError(
                "endpoint.serverless",
                "serverless inference is not supported: a serverless endpoint has no data capture, so the platform "
                "could not monitor the model for drift or quality, nor feed its retraining loop; use an instance "
                "type (endpoint.instance_type)",
            )
        if not self.instance_type.startswith("ml."):
            raise ConfigError("endpoint.instance_type", f"'{self.instance_type}' is not a SageMaker ml.* type")
        positive_int("endpoint.initial_instance_count", self.initial_instance_count)
        positive_int("endpoint.min_instances", self.min_instances)
        positive_int("endpoint.max_instances", self.max_instances)
        if self.max_instances < self.min_instances:
            raise ConfigError("endpoint.max_instances", "must be at least endpoint.min_instances")
        if not self.min_instances <= self.initial_instance_count <= self.max_instances:
            raise ConfigError("endpoint.initial_instance_count", "must lie between min_instances and max_instances")
        positive_int("endpoint.target_invocations_per_instance", self.target_invocations_per_instance)
        in_range("endpoint.data_capture_sampling_percent", self.data_capture_sampling_percent, 0, 100, unit="%")
        positive_int("endpoint.max_p99_model_latency_ms", self.max_p99_model_latency_ms)
        in_range("endpoint.max_5xx_error_rate_percent", self.max_5xx_error_rate_percent, 0, 100, unit="%")
        in_range("endpoint.max_model_error_rate_percent", self.max_model_error_rate_percent, 0, 100, unit="%")

    @property
    def volume_kms_supported(self) -> bool:
        return not has_local_nvme(self.instance_type)


@dataclass(frozen=True, kw_only=True)
class ShadowSettings:
    """Shadow-vs-production comparison thresholds (the candidate must stay within each)."""

    sampling_percent: float = 100.0
    window_minutes: int = 60
    max_error_rate_increase_percent: float = 0.5
    max_p99_latency_ratio: float = 1.25
    max_prediction_distance: float = 0.1
    min_agreement_rate: float = 0.95

    def __post_init__(self) -> None:
        in_range("deployment.shadow.sampling_percent", self.sampling_percent, 0, 100, unit="%")
        positive_int("deployment.shadow.window_minutes", self.window_minutes)
        in_range("deployment.shadow.max_prediction_distance", self.max_prediction_distance, 0, 1)
        in_range("deployment.shadow.min_agreement_rate", self.min_agreement_rate, 0, 1)


@dataclass(frozen=True, kw_only=True)
class AbSettings:
    """Challenger weight steps (percent of traffic) and how long each step is observed."""

    weight_steps_percent: tuple[int, ...] = (10, 25, 50, 100)
    step_minutes: int = 30

    def __post_init__(self) -> None:
        steps = self.weight_steps_percent
        if not steps or list(steps) != sorted(set(steps)) or steps[-1] != 100:
            raise ConfigError("deployment.ab.weight_steps_percent", "must be strictly increasing and end at 100")
        for step in steps:
            in_range("deployment.ab.weight_steps_percent", step, 1, 100, unit="%")
        positive_int("deployment.ab.step_minutes", self.step_minutes)


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    strategy: DeploymentStrategy = DeploymentStrategy.CANARY
    canary_size_percent: int = 10
    linear_step_percent: int = 20
    # Guardrail timings (SageMaker BlueGreenUpdatePolicy / TrafficRoutingConfig).
    wait_interval_seconds: int = 600
    termination_wait_seconds: int = 300
    max_execution_timeout_seconds: int = 3600
    # The state machine's own bake window after SageMaker reports the update done.
    bake_minutes: int = 15
    shadow: ShadowSettings = field(default_factory=ShadowSettings)
    ab: AbSettings = field(default_factory=AbSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", coerce_enum("deployment.strategy", DeploymentStrategy, self.strategy))
        # CanarySize must be at most 50% of the variant's instances (API TrafficRoutingConfig).
        in_range("deployment.canary_size_percent", self.canary_size_percent, 1, 50, unit="%")
        # LinearStepSize must be 10-50% of the variant's instances.
        in_range("deployment.linear_step_percent", self.linear_step_percent, 10, 50, unit="%")
        in_range("deployment.wait_interval_seconds", self.wait_interval_seconds, 0, 3600, unit="s")
        in_range("deployment.termination_wait_seconds", self.termination_wait_seconds, 0, 3600, unit="s")
        in_range("deployment.max_execution_timeout_seconds", self.max_execution_timeout_seconds, 600, 28800, unit="s")
        if self.max_execution_timeout_seconds <= self.wait_interval_seconds + self.termination_wait_seconds:
            raise ConfigError(
                "deployment.max_execution_timeout_seconds",
                "must exceed wait_interval_seconds + termination_wait_seconds",
            )
        positive_int("deployment.bake_minutes", self.bake_minutes)


@dataclass(frozen=True, kw_only=True)
class MonitoringSettings:
    backend: MonitoringBackend = MonitoringBackend.PROCESSING
    # Model Monitor runs only at whole-hour rates from 1 to 24 hours (cron(0 */N ? * * *)).
    every_hours: int = 1
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    max_runtime_seconds: int = 1800
    # Labels for an inference may arrive this late; model-quality runs look back this far.
    ground_truth_lag_hours: int = 24
    # Alarm when no capture or no label arrived for this long.
    missing_data_hours: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", coerce_enum("monitoring.backend", MonitoringBackend, self.backend))
        if (
            isinstance(self.every_hours, bool)
            or not isinstance(self.every_hours, int)
            or not (1 <= self.every_hours <= 24)
        ):
            raise ConfigError(
                "monitoring.every_hours",
                f"{self.every_hours!r} cannot be scheduled: Model Monitor runs only hourly to daily (1-24 whole hours)",
            )
        positive_int("monitoring.instance_count", self.instance_count)
        # Hourly model-quality runs split their time with the ground-truth merge job: at most 1800 s.
        limit = 1800 if self.every_hours == 1 else 3600
        in_range("monitoring.max_runtime_seconds", self.max_runtime_seconds, 1, limit, unit="s")
        positive_int("monitoring.ground_truth_lag_hours", self.ground_truth_lag_hours)
        positive_int("monitoring.missing_data_hours", self.missing_data_hours)

    @property
    def schedule_expression(self) -> str:
        """Cron in the only forms Model Monitor accepts; the processing backend uses the same one."""
        if self.every_hours == 1:
            return "cron(0 * ? * * *)"
        if self.every_hours == 24:
            return "cron(0 0 ? * * *)"
        return f"cron(0 */{self.every_hours} ? * * *)"


@dataclass(frozen=True, kw_only=True)
class RetrainingPolicy:
    # Scheduled retraining every N days; None turns the schedule off (alarms and manual runs still work).
    schedule_every_days: int | None = None
    retrain_on_alarms: bool = True
    cooldown_hours: int = 24
    max_runs_per_period: int = 3
    period_days: int = 7
    pipeline_timeout_hours: int = 12
    approval_timeout_hours: int = 72

    def __post_init__(self) -> None:
        if self.schedule_every_days is not None:
            positive_int("retraining.schedule_every_days", self.schedule_every_days)
        in_range("retraining.cooldown_hours", self.cooldown_hours, 0, 24 * 90, unit="h")
        positive_int("retraining.max_runs_per_period", self.max_runs_per_period)
        positive_int("retraining.period_days", self.period_days)
        positive_int("retraining.pipeline_timeout_hours", self.pipeline_timeout_hours)
        positive_int("retraining.approval_timeout_hours", self.approval_timeout_hours)


@dataclass(frozen=True, kw_only=True)
class IdleSchedule:
    """When an environment's endpoints exist (ADR 0020): outside these hours each endpoint is deleted and then
    recreated on the endpoint config it served, so an idle dev environment pays no instance hours at night.

    A real-time endpoint variant cannot scale below one instance with Application Auto Scaling, so scheduled
    scaling would save nothing on a one-instance endpoint (docs/aws-facts.md#endpoints-at-zero-instances).
    Hours are UTC, ``awake_from_hour`` inclusive to ``asleep_from_hour`` exclusive; ``weekdays_only`` keeps the
    endpoints asleep from Friday's ``asleep_from_hour`` to Monday's ``awake_from_hour``.
    """

    awake_from_hour: int = 7
    asleep_from_hour: int = 19
    weekdays_only: bool = True

    def __post_init__(self) -> None:
        in_range("idle.awake_from_hour", self.awake_from_hour, 0, 23, unit="h")
        in_range("idle.asleep_from_hour", self.asleep_from_hour, 0, 23, unit="h")
        if not isinstance(self.awake_from_hour, int) or not isinstance(self.asleep_from_hour, int):
            raise ConfigError("idle.awake_from_hour", "hours are whole UTC hours")
        if self.asleep_from_hour <= self.awake_from_hour:
            raise ConfigError("idle.asleep_from_hour", "must be later than awake_from_hour (the same UTC day)")

    @property
    def awake_hours_per_week(self) -> int:
        return (self.asleep_from_hour - self.awake_from_hour) * (5 if self.weekdays_only else 7)

    @property
    def days(self) -> str:
        """EventBridge cron day-of-week field."""
        return "MON-FRI" if self.weekdays_only else "*"

    @property
    def wake_expression(self) -> str:
        return f"cron(0 {self.awake_from_hour} ? * {self.days} *)"

    @property
    def sleep_expression(self) -> str:
        return f"cron(0 {self.asleep_from_hour} ? * {self.days} *)"

    def is_awake(self, hour: int, weekday: int) -> bool:
        """Whether the endpoints should exist at ``hour`` (UTC) on ``weekday`` (Monday = 0)."""
        if self.weekdays_only and weekday >= 5:
            return False
        return self.awake_from_hour <= hour < self.asleep_from_hour


@dataclass(frozen=True, kw_only=True)
class StorageLifecycle:
    """Bucket lifecycle rules (days) and log retention."""

    data_capture_infrequent_access_days: int = 30
    data_capture_expiration_days: int = 365
    reports_infrequent_access_days: int = 30
    reports_expiration_days: int = 730
    noncurrent_version_expiration_days: int = 90
    access_logs_expiration_days: int = 365
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        for name in (
            "data_capture_infrequent_access_days",
            "data_capture_expiration_days",
            "reports_infrequent_access_days",
            "reports_expiration_days",
            "noncurrent_version_expiration_days",
            "access_logs_expiration_days",
        ):
            positive_int(f"storage.{name}", getattr(self, name))
        # S3 requires at least 30 days in STANDARD before STANDARD_IA, and expiry after the transition.
        for prefix in ("data_capture", "reports"):
            ia = getattr(self, f"{prefix}_infrequent_access_days")
            expire = getattr(self, f"{prefix}_expiration_days")
            if ia < 30:
                raise ConfigError(f"storage.{prefix}_infrequent_access_days", "S3 needs at least 30 days")
            if expire <= ia:
                raise ConfigError(
                    f"storage.{prefix}_expiration_days", f"must be later than {prefix}_infrequent_access_days"
                )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError("storage.log_retention_days", f"must be one of {LOG_RETENTION_DAYS}")


@dataclass(frozen=True, kw_only=True)
class Environment:
    name: str
    account: str
    region: str
    # Stateful resources (key, buckets, feature groups, registry) are retained on stack deletion.
    retain_stateful: bool
    termination_protection: bool
    approval: ApprovalMode
    endpoint: EndpointSettings = field(default_factory=EndpointSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    retraining: RetrainingPolicy = field(default_factory=RetrainingPolicy)
    storage: StorageLifecycle = field(default_factory=StorageLifecycle)
    # Outside these hours the endpoints are deleted and recreated (ADR 0020); None: always on (prod).
    idle: IdleSchedule | None = None
    # Where functions, jobs and endpoints run: AWS's networks (public) or private subnets (isolated, ADR 0019).
    network: NetworkSettings = field(default_factory=NetworkSettings)
    # Usage the cost estimate assumes (traffic, job durations); never changes a template.
    cost: CostAssumptions = field(default_factory=CostAssumptions)

    def __post_init__(self) -> None:
        if not _ENV_NAME.match(self.name):
            raise ConfigError("environment.name", f"'{self.name}' must be 2-10 lowercase letters or digits")
        if not _ACCOUNT.match(self.account):
            raise ConfigError(f"environments[{self.name}].account", f"'{self.account}' is not a 12-digit account id")
        if not _REGION.match(self.region):
            raise ConfigError(f"environments[{self.name}].region", f"'{self.region}' is not an AWS region name")
        object.__setattr__(
            self, "approval", coerce_enum(f"environments[{self.name}].approval", ApprovalMode, self.approval)
        )
        self.network.check_region(f"environments[{self.name}]", self.region)
        alarms, wait = self.endpoint.alarms, self.deployment.wait_interval_seconds
        if alarms.rollback_alarm_seconds > wait:
            raise ConfigError(
                f"environments[{self.name}].endpoint.alarms.evaluation_periods",
                f"the rollback alarms need period_seconds x evaluation_periods = {alarms.period_seconds} x "
                f"{alarms.evaluation_periods} = {alarms.rollback_alarm_seconds} s to fire, longer than "
                f"deployment.wait_interval_seconds = {wait} s: traffic would shift before they could trip",
            )

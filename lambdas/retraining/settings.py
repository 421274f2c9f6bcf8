"""Environment of the retraining functions, validated once into frozen dataclasses.

==============================  ==========================================================  =====================
variable                        meaning                                                     read by
==============================  ==========================================================  =====================
``MODEL_NAME``                  the spec's name, e.g. ``fraud-detection``                   all
``ENVIRONMENT``                 ``dev`` / ``staging`` / ``prod``                            all
``STATE_TABLE``                 DynamoDB table (``pk``/``sk`` strings, TTL ``expires_at``)  all but notify,
                                see ``state.py``                                            check_registration
``RETRAINING_POLICY``           JSON, ``dataclasses.asdict(config RetrainingPolicy)``       guard, register_wait,
                                                                                            approval,
                                                                                            approval_callback
``TRAINING_WINDOW_DAYS``        length of the training window ending now (1-3650)           guard
``PIPELINE_NAME``               the SageMaker pipeline (``<model>-<env>-training``)         start_pipeline
``SERVING_POINTER_PARAMETER``   SSM parameter naming the serving model package ARN          start_pipeline
``ABSOLUTE_THRESHOLD``          pipeline parameter AbsoluteThreshold (number in [0, 1])     start_pipeline
``MIN_IMPROVEMENT``             pipeline parameter MinImprovement (number in [0, 1])        start_pipeline
``ARTIFACTS_BUCKET``            bucket of ``pipelines/<pipeline>/<execution id>/``          check_registration
``MODEL_PACKAGE_GROUP``         the model's package group                                   check_registration,
                                                                                            approval,
                                                                                            approval_callback
``APPROVAL_MODE``               ``auto`` / ``manual`` (config ``ApprovalMode``)             approval,
                                                                                            approval_callback
``OWNER_TOPIC_ARN``             the owner's SNS topic                                       notify
==============================  ==========================================================  =====================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar

from lambdas.shared.errors import ConfigurationError
from lambdas.shared.settings import integer, json_object, number, require


class ApprovalMode(StrEnum):
    """The same values as ``config.environment.ApprovalMode``."""

    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True, kw_only=True)
class Policy:
    """``RETRAINING_POLICY``: the limits of ``config.environment.RetrainingPolicy`` the functions enforce."""

    cooldown_hours: int
    max_runs_per_period: int
    period_days: int
    pipeline_timeout_hours: int
    approval_timeout_hours: int

    # Keys of RetrainingPolicy the functions accept but do not use (they shape the triggers, in CDK).
    IGNORED = ("schedule_every_days", "retrain_on_alarms")

    @property
    def cooldown(self) -> timedelta:
        return timedelta(hours=self.cooldown_hours)

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.period_days)

    @property
    def stale_lock_after(self) -> timedelta:
        """A lock older than this belongs to a run that can no longer be waiting: it may be taken over."""
        return timedelta(hours=self.pipeline_timeout_hours + self.approval_timeout_hours)

    @classmethod
    def from_json(cls, text: str, *, variable: str = "RETRAINING_POLICY") -> Policy:
        raw = json_object(text, variable)
        limits = {
            "cooldown_hours": (0, 24 * 90),
            "max_runs_per_period": (1, 1000),
            "period_days": (1, 366),
            "pipeline_timeout_hours": (1, 24 * 30),
            "approval_timeout_hours": (1, 24 * 90),
        }
        unknown = sorted(set(raw) - set(limits) - set(cls.IGNORED))
        if unknown:
            raise ConfigurationError(f"{variable}: unknown keys {unknown}")
        values: dict[str, int] = {}
        for key, (low, high) in limits.items():
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigurationError(f"{variable}.{key} is required (an integer), got {value!r}")
            if not low <= value <= high:
                raise ConfigurationError(f"{variable}.{key}={value} is outside [{low}, {high}]")
            values[key] = value
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class StateEnv:
    """What every function that touches the state table reads."""

    model_name: str
    environment: str
    state_table: str

    VARIABLES: ClassVar[tuple[str, ...]] = ("MODEL_NAME", "ENVIRONMENT", "STATE_TABLE")

    @property
    def label(self) -> str:
        return f"{self.model_name}/{self.environment}"

    @classmethod
    def _state(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """The common fields, after checking that every variable of ``cls`` is set (all missing ones named)."""
        require(environ, cls.VARIABLES)
        return {
            "model_name": environ["MODEL_NAME"].strip(),
            "environment": environ["ENVIRONMENT"].strip(),
            "state_table": environ["STATE_TABLE"].strip(),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StateEnv:
        return cls(**cls._state(environ))


@dataclass(frozen=True, kw_only=True)
class GuardEnv(StateEnv):
    policy: Policy
    training_window_days: int

    VARIABLES = (*StateEnv.VARIABLES, "RETRAINING_POLICY", "TRAINING_WINDOW_DAYS")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GuardEnv:
        return cls(
            **cls._state(environ),
            policy=Policy.from_json(environ["RETRAINING_POLICY"]),
            training_window_days=integer(environ, "TRAINING_WINDOW_DAYS", 1, 3650),
        )


@dataclass(frozen=True, kw_only=True)
class WaitEnv(StateEnv):
    """register_wait: the token's time to live comes from the policy's timeouts."""

    policy: Policy

    VARIABLES = (*StateEnv.VARIABLES, "RETRAINING_POLICY")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WaitEnv:
        return cls(**cls._state(environ), policy=Policy.from_json(environ["RETRAINING_POLICY"]))


@dataclass(frozen=True, kw_only=True)
class PipelineEnv(StateEnv):
    pipeline_name: str
    serving_pointer_parameter: str
    absolute_threshold: float
    min_improvement: float

    VARIABLES = (
        *StateEnv.VARIABLES,
        "PIPELINE_NAME",
        "SERVING_POINTER_PARAMETER",
        "ABSOLUTE_THRESHOLD",
        "MIN_IMPROVEMENT",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PipelineEnv:
        return cls(
            **cls._state(environ),
            pipeline_name=environ["PIPELINE_NAME"].strip(),
            serving_pointer_parameter=environ["SERVING_POINTER_PARAMETER"].strip(),
            absolute_threshold=number(environ, "ABSOLUTE_THRESHOLD", 0.0, 1.0),
            min_improvement=number(environ, "MIN_IMPROVEMENT", 0.0, 1.0),
        )


@dataclass(frozen=True, kw_only=True)
class RegistrationEnv:
    """check_registration: no state table, only where the pipeline writes and registers."""

    artifacts_bucket: str
    model_package_group: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RegistrationEnv:
        require(environ, ("ARTIFACTS_BUCKET", "MODEL_PACKAGE_GROUP"))
        return cls(
            artifacts_bucket=environ["ARTIFACTS_BUCKET"].strip(),
            model_package_group=environ["MODEL_PACKAGE_GROUP"].strip(),
        )


@dataclass(frozen=True, kw_only=True)
class ApprovalEnv(StateEnv):
    """approval and approval_callback."""

    policy: Policy
    approval_mode: ApprovalMode
    model_package_group: str

    VARIABLES = (*StateEnv.VARIABLES, "RETRAINING_POLICY", "APPROVAL_MODE", "MODEL_PACKAGE_GROUP")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ApprovalEnv:
        mode_text = environ["APPROVAL_MODE"].strip().lower()
        try:
            mode = ApprovalMode(mode_text)
        except ValueError:
            allowed = ", ".join(m.value for m in ApprovalMode)
            raise ConfigurationError(f"APPROVAL_MODE: unknown mode {mode_text!r}; expected {allowed}") from None
        return cls(
            **cls._state(environ),
            policy=Policy.from_json(environ["RETRAINING_POLICY"]),
            approval_mode=mode,
            model_package_group=environ["MODEL_PACKAGE_GROUP"].strip(),
        )


@dataclass(frozen=True, kw_only=True)
class NotifyEnv:
    model_name: str
    environment: str
    owner_topic_arn: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> NotifyEnv:
        require(environ, ("MODEL_NAME", "ENVIRONMENT", "OWNER_TOPIC_ARN"))
        topic = environ["OWNER_TOPIC_ARN"].strip()
        if not topic.startswith("arn:") or ":sns:" not in topic:
            raise ConfigurationError(f"OWNER_TOPIC_ARN '{topic}' is not an SNS topic ARN")
        return cls(
            model_name=environ["MODEL_NAME"].strip(), environment=environ["ENVIRONMENT"].strip(), owner_topic_arn=topic
        )

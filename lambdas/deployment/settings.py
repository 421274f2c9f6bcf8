"""Environment of the deployment and scoring functions, validated once into frozen dataclasses.

Deployment functions (prepare, deploy, verify, compare, promote, rollback) all read:

=============================  =====================================================================
``MODEL_NAME``                 the spec's name, e.g. ``fraud-detection``
``ENVIRONMENT``                ``dev`` / ``staging`` / ``prod``
``ENDPOINT_NAME``              the serving endpoint
``VARIANT_NAME``               the stable production variant name (``primary``)
``SERVING_POINTER_PARAMETER``  SSM parameter naming the serving model package ARN
``HISTORY_TABLE``              DynamoDB table (``pk``/``sk`` string keys), see ``history.py``
``MODEL_PACKAGE_GROUP``        the model's package group in the registry
``SAGEMAKER_ROLE_ARN``         execution role of the Models the automation creates
``DEPLOYMENT_SETTINGS``        JSON, see ``StrategySettings.from_json``
``MODEL_SUBNETS``              optional: comma-separated subnet IDs the Models run in (isolated network)
``MODEL_SECURITY_GROUPS``      optional, with ``MODEL_SUBNETS``: comma-separated security group IDs
=============================  =====================================================================

The scoring function reads ``ENDPOINT_NAME``, ``FEATURE_GROUPS`` (JSON object: spec group name -> deployed
feature group name), ``FEATURE_NAMES`` (JSON list, the spec's order), ``CATEGORIES`` (JSON object: categorical
feature -> its categories, the spec's ``category_vocabularies``) and ``ENTITY_ID_NAME``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lambdas.shared.errors import ConfigurationError
from lambdas.shared.settings import json_object, json_value, require

SHADOW_VARIANT = "shadow"
CHALLENGER_VARIANT = "challenger"


class Strategy(StrEnum):
    BLUE_GREEN = "blue_green"
    CANARY = "canary"
    LINEAR = "linear"
    SHADOW = "shadow"
    AB = "ab"

    @property
    def uses_guardrails(self) -> bool:
        """SageMaker's native guardrails do the traffic shift (docs/architecture.md#deployment-strategies)."""
        return self in (Strategy.BLUE_GREEN, Strategy.CANARY, Strategy.LINEAR)

    @property
    def candidate_variant(self) -> str | None:
        """The candidate's variant name while it runs next to the champion; None when it replaces it."""
        return {Strategy.SHADOW: SHADOW_VARIANT, Strategy.AB: CHALLENGER_VARIANT}.get(self)


@dataclass(frozen=True, kw_only=True)
class ShadowThresholds:
    """Candidate-vs-champion limits. Used for shadow, for every A/B step and for the guardrail bake check."""

    sampling_percent: float = 100.0
    window_minutes: int = 60
    max_error_rate_increase_percent: float = 0.5  # percentage points of 5xx rate
    max_p99_latency_ratio: float = 1.25
    max_prediction_distance: float = 0.1  # two-sample KS distance of the scores, in [0, 1]
    min_agreement_rate: float = 0.95


@dataclass(frozen=True, kw_only=True)
class AbPlan:
    weight_steps_percent: tuple[int, ...] = (10, 25, 50, 100)
    step_minutes: int = 30


@dataclass(frozen=True, kw_only=True)
class StrategySettings:
    """``DEPLOYMENT_SETTINGS``: ``dataclasses.asdict(config.environment.DeploymentSettings)`` plus
    ``alarm_names`` (AutoRollbackConfiguration, 0-10 names) and, optionally, ``min_invocations``,
    ``min_captured_predictions`` and ``decision_threshold`` for the comparisons. Unknown keys are rejected so
    a misspelt threshold cannot silently fall back to its default."""

    strategy: Strategy
    canary_size_percent: int = 10
    linear_step_percent: int = 20
    wait_interval_seconds: int = 600
    termination_wait_seconds: int = 300
    max_execution_timeout_seconds: int = 3600
    bake_minutes: int = 15
    shadow: ShadowThresholds = field(default_factory=ShadowThresholds)
    ab: AbPlan = field(default_factory=AbPlan)
    alarm_names: tuple[str, ...] = ()
    min_invocations: int = 100
    min_captured_predictions: int = 50
    decision_threshold: float = 0.5

    @classmethod
    def from_json(cls, text: str, *, variable: str = "DEPLOYMENT_SETTINGS") -> StrategySettings:
        raw = json_object(text, variable)
        reader = _Reader(variable, raw)
        shadow = _Reader(f"{variable}.shadow", reader.mapping("shadow"))
        ab = _Reader(f"{variable}.ab", reader.mapping("ab"))
        strategy_text = reader.text("strategy")
        try:
            strategy = Strategy(strategy_text)
        except ValueError:
            allowed = ", ".join(s.value for s in Strategy)
            raise ConfigurationError(
                f"{variable}.strategy: unknown strategy {strategy_text!r}; expected {allowed}"
            ) from None
        steps = tuple(ab.integers("weight_steps_percent", AbPlan.weight_steps_percent, 1, 100))
        if list(steps) != sorted(set(steps)) or steps[-1] != 100:
            raise ConfigurationError(f"{variable}.ab.weight_steps_percent must be strictly increasing and end at 100")
        alarms = tuple(reader.texts("alarm_names"))
        if len(alarms) > 10 or len(set(alarms)) != len(alarms):
            raise ConfigurationError(f"{variable}.alarm_names: at most 10 distinct alarm names (AutoRollbackConfig)")
        settings = cls(
            strategy=strategy,
            canary_size_percent=reader.integer("canary_size_percent", 10, 1, 50),
            linear_step_percent=reader.integer("linear_step_percent", 20, 10, 50),
            wait_interval_seconds=reader.integer("wait_interval_seconds", 600, 0, 3600),
            termination_wait_seconds=reader.integer("termination_wait_seconds", 300, 0, 3600),
            max_execution_timeout_seconds=reader.integer("max_execution_timeout_seconds", 3600, 600, 28800),
            bake_minutes=reader.integer("bake_minutes", 15, 1, 24 * 60),
            shadow=ShadowThresholds(
                sampling_percent=shadow.number("sampling_percent", 100.0, 0.0, 100.0),
                window_minutes=shadow.integer("window_minutes", 60, 1, 24 * 60),
                max_error_rate_increase_percent=shadow.number("max_error_rate_increase_percent", 0.5, 0.0, 100.0),
                max_p99_latency_ratio=shadow.number("max_p99_latency_ratio", 1.25, 0.0, 1e6),
                max_prediction_distance=shadow.number("max_prediction_distance", 0.1, 0.0, 1.0),
                min_agreement_rate=shadow.number("min_agreement_rate", 0.95, 0.0, 1.0),
            ),
            ab=AbPlan(weight_steps_percent=steps, step_minutes=ab.integer("step_minutes", 30, 1, 24 * 60)),
            alarm_names=alarms,
            min_invocations=reader.integer("min_invocations", 100, 0, 10**9),
            min_captured_predictions=reader.integer("min_captured_predictions", 50, 0, 10**9),
            decision_threshold=reader.number("decision_threshold", 0.5, 0.0, 1.0),
        )
        if settings.max_execution_timeout_seconds <= settings.wait_interval_seconds + settings.termination_wait_seconds:
            raise ConfigurationError(
                f"{variable}.max_execution_timeout_seconds must exceed wait_interval_seconds + termination_wait_seconds"
            )
        reader.reject_unknown()
        shadow.reject_unknown()
        ab.reject_unknown()
        return settings


@dataclass(frozen=True, kw_only=True)
class ModelVpc:
    """Where the Models the automation creates run in an isolated environment (CreateModel ``VpcConfig``)."""

    subnets: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    def request(self) -> dict[str, list[str]]:
        return {"Subnets": list(self.subnets), "SecurityGroupIds": list(self.security_group_ids)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ModelVpc | None:
        subnets = _ids(environ.get("MODEL_SUBNETS", ""))
        groups = _ids(environ.get("MODEL_SECURITY_GROUPS", ""))
        if not subnets and not groups:
            return None
        if not subnets or not groups:
            raise ConfigurationError("MODEL_SUBNETS and MODEL_SECURITY_GROUPS go together: set both or neither")
        # CreateModel VpcConfig: 1-16 subnets, 1-5 security groups.
        if len(subnets) > 16 or len(groups) > 5:
            raise ConfigurationError(f"a model's VpcConfig takes 1-16 subnets and 1-5 groups: {subnets}, {groups}")
        return cls(subnets=subnets, security_group_ids=groups)


def _ids(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class DeploymentEnv:
    model_name: str
    environment: str
    endpoint_name: str
    variant_name: str
    serving_pointer_parameter: str
    history_table: str
    model_package_group: str
    sagemaker_role_arn: str
    settings: StrategySettings
    # Optional: where promote/rollback publish the serving model's monitoring baselines.
    current_baseline_uri: str | None = None
    # Set in an isolated environment: the Models the automation creates run in the VPC like the stack's own.
    model_vpc: ModelVpc | None = None

    VARIABLES = (
        "MODEL_NAME",
        "ENVIRONMENT",
        "ENDPOINT_NAME",
        "VARIANT_NAME",
        "SERVING_POINTER_PARAMETER",
        "HISTORY_TABLE",
        "MODEL_PACKAGE_GROUP",
        "SAGEMAKER_ROLE_ARN",
        "DEPLOYMENT_SETTINGS",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DeploymentEnv:
        require(environ, cls.VARIABLES)
        variant = environ["VARIANT_NAME"].strip()
        if variant in (SHADOW_VARIANT, CHALLENGER_VARIANT):
            raise ConfigurationError(f"VARIANT_NAME must not be '{variant}': that name is the candidate's")
        return cls(
            model_name=environ["MODEL_NAME"].strip(),
            environment=environ["ENVIRONMENT"].strip(),
            endpoint_name=environ["ENDPOINT_NAME"].strip(),
            variant_name=variant,
            serving_pointer_parameter=environ["SERVING_POINTER_PARAMETER"].strip(),
            history_table=environ["HISTORY_TABLE"].strip(),
            model_package_group=environ["MODEL_PACKAGE_GROUP"].strip(),
            sagemaker_role_arn=environ["SAGEMAKER_ROLE_ARN"].strip(),
            settings=StrategySettings.from_json(environ["DEPLOYMENT_SETTINGS"]),
            current_baseline_uri=_baseline_uri(environ),
            model_vpc=ModelVpc.from_env(environ),
        )


def _baseline_uri(environ: Mapping[str, str]) -> str | None:
    value = environ.get("CURRENT_BASELINE_S3_URI", "").strip()
    if not value:
        return None
    if not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ConfigurationError(f"CURRENT_BASELINE_S3_URI '{value}' is not an s3:// URI")
    return value


@dataclass(frozen=True, kw_only=True)
class ScoreEnv:
    endpoint_name: str
    feature_groups: tuple[tuple[str, str], ...]  # (spec group, deployed feature group name), in given order
    feature_names: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    entity_id_name: str

    VARIABLES = ("ENDPOINT_NAME", "FEATURE_GROUPS", "FEATURE_NAMES", "CATEGORIES", "ENTITY_ID_NAME")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ScoreEnv:
        require(environ, cls.VARIABLES)
        groups = json_value(environ, "FEATURE_GROUPS")
        if (
            not isinstance(groups, dict)
            or not groups
            or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in groups.items())
        ):
            raise ConfigurationError("FEATURE_GROUPS must be a non-empty JSON object of group -> feature group name")
        names = json_value(environ, "FEATURE_NAMES")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ConfigurationError("FEATURE_NAMES must be a non-empty JSON list of feature names")
        if len(set(names)) != len(names):
            raise ConfigurationError("FEATURE_NAMES has duplicates")
        return cls(
            endpoint_name=environ["ENDPOINT_NAME"].strip(),
            feature_groups=tuple(groups.items()),
            feature_names=tuple(names),
            categories=_categories(environ, names),
            entity_id_name=environ["ENTITY_ID_NAME"].strip(),
        )


def _categories(environ: Mapping[str, str], feature_names: list[str]) -> dict[str, tuple[str, ...]]:
    """``CATEGORIES``: each categorical feature of ``FEATURE_NAMES`` -> its categories (encoded by index)."""
    raw = json_value(environ, "CATEGORIES")
    if not isinstance(raw, dict) or not all(
        isinstance(values, list) and values and all(isinstance(v, str) and v for v in values) for values in raw.values()
    ):
        raise ConfigurationError("CATEGORIES must be a JSON object of feature name -> non-empty list of categories")
    unknown = sorted(set(raw) - set(feature_names))
    if unknown:
        raise ConfigurationError(f"CATEGORIES names {unknown}, which are not in FEATURE_NAMES")
    return {name: tuple(values) for name, values in raw.items()}


class _Reader:
    """Typed access to one JSON object, remembering which keys were read so unknown ones can be rejected."""

    def __init__(self, where: str, raw: Mapping[str, Any]) -> None:
        self._where = where
        self._raw = raw
        self._seen: set[str] = set()

    def _get(self, key: str) -> Any:
        self._seen.add(key)
        return self._raw.get(key)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self._get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigurationError(f"{self._where}.{key} must be a JSON object")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{self._where}.{key} is required (a non-empty string)")
        return value.strip()

    def texts(self, key: str) -> list[str]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigurationError(f"{self._where}.{key} must be a list of non-empty strings")
        return [v.strip() for v in value]

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(f"{self._where}.{key} must be an integer, got {value!r}")
        if not low <= value <= high:
            raise ConfigurationError(f"{self._where}.{key}={value} is outside [{low}, {high}]")
        return value

    def integers(self, key: str, default: tuple[int, ...], low: int, high: int) -> list[int]:
        value = self._get(key)
        if value is None:
            return list(default)
        if not isinstance(value, list) or not value:
            raise ConfigurationError(f"{self._where}.{key} must be a non-empty list of integers")
        out: list[int] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                raise ConfigurationError(f"{self._where}.{key}: {item!r} is not an integer in [{low}, {high}]")
            out.append(item)
        return out

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigurationError(f"{self._where}.{key} must be a number, got {value!r}")
        if not low <= value <= high:
            raise ConfigurationError(f"{self._where}.{key}={value} is outside [{low}, {high}]")
        return float(value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self._raw) - self._seen)
        if unknown:
            raise ConfigurationError(f"{self._where}: unknown keys {unknown}")

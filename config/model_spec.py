"""What a model is: its features, label, objective, gate thresholds, business metrics and owner.

A model is one ``ModelSpec``. Everything else (feature groups, registry, pipeline, endpoint, monitors,
alarms, the retraining loop) is derived from it, so adding a model is adding a spec to ``config.models``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from config._validate import coerce_enum, in_range, non_empty, positive_int
from config.errors import ConfigError
from config.naming import check_feature_name, check_sagemaker_name

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Resource tag values: letters, digits, spaces and ``_ . : / = + - @``, at most 256 (the owner's e-mail is a tag).
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$")
# Names Feature Store keeps for its own offline-store columns (CreateFeatureGroup, FeatureDefinitions).
RESERVED_FEATURE_NAMES = frozenset({"is_deleted", "write_time", "api_invocation_time"})
# CreateFeatureGroup's Description is at most 128 characters.
FEATURE_GROUP_DESCRIPTION_MAX = 128
# A category is written as the encoder compares it (lambdas/shared/features.py lower-cases and strips a value
# first), and short enough to be a readable label in the drift report.
CATEGORY_MAX = 63
# The score Lambda carries the categories in its environment, 4 KB in all (docs/aws-facts.md#model-specs).
CATEGORIES_JSON_MAX_BYTES = 2048


class FeatureType(StrEnum):
    """Feature Store feature types (``FeatureDefinition.FeatureType``)."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


class ObjectiveMetric(StrEnum):
    """Binary-classification metrics the evaluation step reports (SageMaker ModelMetrics names).

    Every one is bounded to [0, 1] and greater is better, which the gate relies on.
    """

    AUC = "auc"
    PR_AUC = "pr_auc"
    F1 = "f1"
    PRECISION = "precision"
    RECALL = "recall"
    ACCURACY = "accuracy"


class BusinessMetricKind(StrEnum):
    """Business metrics computed from joined predictions and ground truth.

    - ``value_caught``: sum of ``value_feature`` over true positives (e.g. fraud value stopped);
    - ``value_missed``: sum of ``value_feature`` over false negatives (fraud that got through);
    - ``review_cost``: false positives times ``unit_cost`` (cost of reviewing good transactions).
    """

    VALUE_CAUGHT = "value_caught"
    VALUE_MISSED = "value_missed"
    REVIEW_COST = "review_cost"


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True, kw_only=True)
class Owner:
    team: str
    email: str

    def __post_init__(self) -> None:
        non_empty("owner.team", self.team)
        check_email("owner.email", self.email)


def check_email(field: str, value: str) -> str:
    """An e-mail address that can also be a resource tag value (owners are tagged on every resource)."""
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise ConfigError(field, f"{value!r} is not an e-mail address")
    if not _TAG_VALUE.match(value):
        raise ConfigError(
            field, f"'{value}' has characters a resource tag value cannot hold (letters, digits, _ . : / = + - @ only)"
        )
    return value


def check_lowercase(field: str, value: str) -> str:
    """Model and feature group names become Glue table names (``fraud_detection_dev_labels``): lower case only."""
    if value != value.lower():
        raise ConfigError(field, f"'{value}' must be lower case: it becomes part of Glue table names")
    return value


@dataclass(frozen=True, kw_only=True)
class FeatureGroupSpec:
    """One Feature Store feature group. ``name`` is short; the deployed name adds model and environment."""

    name: str
    description: str
    online_ttl_days: int = 30

    def __post_init__(self) -> None:
        check_sagemaker_name("feature_groups.name", self.name)
        check_lowercase("feature_groups.name", self.name)
        non_empty(f"feature_groups[{self.name}].description", self.description)
        if len(self.description) > FEATURE_GROUP_DESCRIPTION_MAX:
            raise ConfigError(
                f"feature_groups[{self.name}].description",
                f"is {len(self.description)} characters; Feature Store allows at most {FEATURE_GROUP_DESCRIPTION_MAX}",
            )
        positive_int(f"feature_groups[{self.name}].online_ttl_days", self.online_ttl_days)


def _is_category(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= CATEGORY_MAX
        and value == value.strip().lower()
        and value.isprintable()
    )


@dataclass(frozen=True, kw_only=True)
class Feature:
    """A model input. Order in ``ModelSpec.features`` is the model's column order in training and serving.

    A categorical (``String``) feature lists its ``categories``: the model input is a category's index in this
    tuple (a value outside it is encoded as -1), so the tuple is append-only once a model is deployed. Training,
    serving and monitoring all encode and decode with it (ADR 0018).
    """

    name: str
    type: FeatureType
    feature_group: str
    description: str = ""
    # Drift threshold for this feature (distribution distance on the baseline's bins); None = spec default.
    drift_threshold: float | None = None
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_feature_name("features.name", self.name)
        if self.name.lower() in RESERVED_FEATURE_NAMES:
            raise ConfigError(
                f"features[{self.name}]", f"is reserved by Feature Store ({', '.join(sorted(RESERVED_FEATURE_NAMES))})"
            )
        object.__setattr__(self, "type", coerce_enum(f"features[{self.name}].type", FeatureType, self.type))
        if self.drift_threshold is not None:
            in_range(f"features[{self.name}].drift_threshold", self.drift_threshold, 0.0, 1.0)
        self._check_categories()

    def _check_categories(self) -> None:
        where = f"features[{self.name}].categories"
        given: object = self.categories  # a list works too; the spec is frozen and hashable, so store a tuple
        if isinstance(given, (str, bytes)) or not isinstance(given, (tuple, list)):
            raise ConfigError(where, f"expected a tuple of category names, got {type(given).__name__}")
        object.__setattr__(self, "categories", tuple(given))
        if not self.is_categorical:
            if self.categories:
                raise ConfigError(where, f"only a String feature has categories; this one is {self.type.value}")
            return
        if not self.categories:
            raise ConfigError(where, "a String feature lists its categories (the model input is a category's index)")
        seen: set[str] = set()
        for category in self.categories:
            if not _is_category(category):
                raise ConfigError(
                    where,
                    f"{category!r} is not a category name: lower case, printable, no surrounding space, "
                    f"at most {CATEGORY_MAX} characters (values are lower-cased and stripped before encoding)",
                )
            if category in seen:
                raise ConfigError(where, f"'{category}' is listed twice")
            seen.add(category)

    @property
    def is_categorical(self) -> bool:
        return self.type is FeatureType.STRING


@dataclass(frozen=True, kw_only=True)
class BusinessMetric:
    name: str
    kind: BusinessMetricKind
    description: str
    unit: str
    direction: Direction
    value_feature: str | None = None
    unit_cost: float | None = None
    # Alarm when the metric is worse than this over an evaluation window; None = report only.
    target: float | None = None

    def __post_init__(self) -> None:
        check_feature_name("business_metrics.name", self.name)
        where = f"business_metrics[{self.name}]"
        object.__setattr__(self, "kind", coerce_enum(f"{where}.kind", BusinessMetricKind, self.kind))
        object.__setattr__(self, "direction", coerce_enum(f"{where}.direction", Direction, self.direction))
        needs_value = self.kind in (BusinessMetricKind.VALUE_CAUGHT, BusinessMetricKind.VALUE_MISSED)
        if needs_value and not self.value_feature:
            raise ConfigError(f"{where}.value_feature", f"required for kind '{self.kind}'")
        bad_cost = self.unit_cost is None or self.unit_cost < 0
        if self.kind is BusinessMetricKind.REVIEW_COST and bad_cost:
            raise ConfigError(f"{where}.unit_cost", "required and non-negative for kind 'review_cost'")


@dataclass(frozen=True, kw_only=True)
class Hyperparameters:
    """Defaults for SageMaker built-in XGBoost; the pipeline exposes each as a parameter."""

    max_depth: int = 5
    eta: float = 0.2
    num_round: int = 200
    subsample: float = 0.8
    min_child_weight: float = 1.0
    early_stopping_rounds: int = 20

    def __post_init__(self) -> None:
        positive_int("hyperparameters.max_depth", self.max_depth)
        positive_int("hyperparameters.num_round", self.num_round)
        positive_int("hyperparameters.early_stopping_rounds", self.early_stopping_rounds)
        in_range("hyperparameters.eta", self.eta, 1e-6, 1.0)
        in_range("hyperparameters.subsample", self.subsample, 1e-6, 1.0)
        in_range("hyperparameters.min_child_weight", self.min_child_weight, 0.0, 1e6)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One model: a binary classifier over features from the Feature Store."""

    name: str
    description: str
    owner: Owner
    entity_id: str
    event_time: str
    feature_groups: tuple[FeatureGroupSpec, ...]
    features: tuple[Feature, ...]
    label: str
    objective: ObjectiveMetric
    # Gate: register a candidate only if objective >= absolute_threshold AND
    # objective >= champion objective + min_improvement (no champion: the threshold alone).
    absolute_threshold: float
    min_improvement: float
    # Score at or above which a prediction counts as positive (precision/recall/business metrics).
    decision_threshold: float = 0.5
    default_drift_threshold: float = 0.1
    business_metrics: tuple[BusinessMetric, ...] = ()
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    # True when lambdas/shared/features.py computes this model's features from raw events, so the platform
    # deploys raw-event ingestion for it (today: the fraud example). Other models write feature records
    # with PutRecord themselves.
    raw_event_ingestion: bool = False
    # The labels table's own id column (one row per labelled event, e.g. the transaction id), carried into
    # the training set; None when the entity id and event time identify a labelled event.
    label_id: str | None = None

    def __post_init__(self) -> None:
        check_sagemaker_name("name", self.name)
        check_lowercase("name", self.name)
        non_empty("description", self.description)
        # Sequences given as lists still work: the spec is frozen and hashable, so store tuples.
        for many in ("feature_groups", "features", "business_metrics"):
            value = getattr(self, many)
            if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
                raise ConfigError(many, f"expected a tuple, got {type(value).__name__}")
            object.__setattr__(self, many, tuple(value))
        self._check_key_columns()
        object.__setattr__(self, "objective", coerce_enum("objective", ObjectiveMetric, self.objective))
        in_range("absolute_threshold", self.absolute_threshold, 0.0, 1.0)
        in_range("min_improvement", self.min_improvement, 0.0, 1.0)
        in_range("decision_threshold", self.decision_threshold, 0.0, 1.0)
        in_range("default_drift_threshold", self.default_drift_threshold, 0.0, 1.0)
        self._check_feature_groups()
        self._check_features()
        self._check_business_metrics()
        self._check_categories_size()

    def _check_key_columns(self) -> None:
        """Entity id, event time, label and label id are distinct columns of the training set."""
        seen: dict[str, str] = {}
        columns = [("entity_id", self.entity_id), ("event_time", self.event_time), ("label", self.label)]
        if self.label_id is not None:
            columns.append(("label_id", self.label_id))
        for field_name, column in columns:
            check_feature_name(field_name, column)
            if column.lower() in RESERVED_FEATURE_NAMES:
                raise ConfigError(field_name, f"'{column}' is reserved by Feature Store")
            if column.lower() in seen:
                raise ConfigError(field_name, f"'{column}' is already the spec's {seen[column.lower()]}")
            seen[column.lower()] = field_name

    def _check_feature_groups(self) -> None:
        if not self.feature_groups:
            raise ConfigError("feature_groups", "at least one feature group is required")
        seen: set[str] = set()
        for group in self.feature_groups:
            if group.name in seen:
                raise ConfigError("feature_groups", f"duplicate feature group name '{group.name}'")
            seen.add(group.name)

    def _check_features(self) -> None:
        if not self.features:
            raise ConfigError("features", "at least one feature is required")
        keys = (self.entity_id, self.event_time, self.label, *([self.label_id] if self.label_id else []))
        reserved = {column.lower() for column in keys}
        groups = {g.name for g in self.feature_groups}
        seen: set[str] = set()
        for feature in self.features:
            # Athena and Glue column names are case-insensitive: 'Plan' and 'plan' are one column.
            if feature.name.lower() in seen:
                raise ConfigError("features", f"duplicate feature name '{feature.name}' (names ignore case)")
            if feature.name.lower() in reserved:
                raise ConfigError(f"features[{feature.name}]", "clashes with the entity id, event time or label column")
            if feature.feature_group not in groups:
                raise ConfigError(
                    f"features[{feature.name}].feature_group",
                    f"'{feature.feature_group}' is not one of the spec's feature groups {sorted(groups)}",
                )
            seen.add(feature.name.lower())
        used = {f.feature_group for f in self.features}
        unused = groups - used
        if unused:
            raise ConfigError("feature_groups", f"groups with no features: {sorted(unused)}")

    def _check_categories_size(self) -> None:
        size = len(json.dumps({k: list(v) for k, v in self.category_vocabularies.items()}).encode())
        if size > CATEGORIES_JSON_MAX_BYTES:
            raise ConfigError(
                "features.categories",
                f"the categories take {size} bytes as JSON; at most {CATEGORIES_JSON_MAX_BYTES} fit the score "
                "function's environment (Lambda allows 4 KB in all)",
            )

    def _check_business_metrics(self) -> None:
        types = {f.name: f.type for f in self.features}
        seen: set[str] = set()
        for metric in self.business_metrics:
            if metric.name in seen:
                raise ConfigError("business_metrics", f"duplicate business metric name '{metric.name}'")
            seen.add(metric.name)
            if metric.value_feature is not None and metric.value_feature not in types:
                raise ConfigError(
                    f"business_metrics[{metric.name}].value_feature",
                    f"'{metric.value_feature}' is not a feature of the model",
                )
            if metric.value_feature is not None and types[metric.value_feature] is FeatureType.STRING:
                raise ConfigError(
                    f"business_metrics[{metric.name}].value_feature",
                    f"'{metric.value_feature}' is categorical; a value is summed, so it must be a numeric feature",
                )

    # ---- derived views used by training, serving and monitoring alike ----

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The model's input columns, in order. Training and serving both take the order from here."""
        return tuple(f.name for f in self.features)

    def features_of(self, group: str) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.feature_group == group)

    @property
    def category_vocabularies(self) -> dict[str, tuple[str, ...]]:
        """Each categorical feature's categories: the model input of a value is its index here."""
        return {f.name: f.categories for f in self.features if f.is_categorical}

    def drift_threshold_of(self, feature: str) -> float:
        for f in self.features:
            if f.name == feature:
                return f.drift_threshold if f.drift_threshold is not None else self.default_drift_threshold
        raise KeyError(feature)


def check_models(models: Sequence[ModelSpec]) -> tuple[ModelSpec, ...]:
    """The set of models one app deploys: specs with unique names (each name prefixes every resource)."""
    seen: set[str] = set()
    for index, model in enumerate(models):
        if not isinstance(model, ModelSpec):
            raise ConfigError(f"models[{index}]", f"expected a ModelSpec, got {type(model).__name__}")
        if model.name in seen:
            raise ConfigError(
                f"models[{model.name}].name", f"duplicate model name '{model.name}': names must be unique"
            )
        seen.add(model.name)
    return tuple(models)

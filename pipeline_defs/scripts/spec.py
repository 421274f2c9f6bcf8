"""``spec.json``: the part of a ``ModelSpec`` the step scripts need, as a file they can read in a container.

The pipeline definition and the local run write it with ``step_spec_from_model_spec(spec).to_json()``;
the scripts load it with ``load_step_spec``. The scripts never import ``config`` (it is not shipped to the
containers), so this file is the contract between the two::

    {"model_name": "fraud-detection", "entity_id": "customer_id", "event_time": "event_time",
     "label": "is_fraud",
     "features": [{"name": "amount", "type": "Fractional", "feature_group": "transaction",
                   "drift_threshold": 0.1},
                  {"name": "merchant_category", "type": "String", "feature_group": "transaction",
                   "drift_threshold": 0.1, "categories": ["grocery", "restaurant", ...]}, ...],
     "objective": "pr_auc", "absolute_threshold": 0.3, "min_improvement": 0.01,
     "decision_threshold": 0.5, "default_drift_threshold": 0.1}

``features`` is in the model's column order. A ``String`` feature carries its ``categories``: its model input is
a category's index there (``lambdas.shared.features.to_model_input``), in preprocessing as in serving.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline_defs.scripts.common import StepInputError, read_json

FEATURE_TYPES = ("Integral", "Fractional", "String")


@dataclass(frozen=True, kw_only=True)
class FeatureColumn:
    name: str
    type: str
    feature_group: str
    drift_threshold: float
    categories: tuple[str, ...] = ()

    @property
    def is_categorical(self) -> bool:
        return self.type == "String"


@dataclass(frozen=True, kw_only=True)
class StepSpec:
    model_name: str
    entity_id: str
    event_time: str
    label: str
    features: tuple[FeatureColumn, ...]
    objective: str
    absolute_threshold: float
    min_improvement: float
    decision_threshold: float
    default_drift_threshold: float

    def __post_init__(self) -> None:
        if not self.features:
            raise StepInputError("spec: 'features' is empty")
        for feature in self.features:
            if feature.type not in FEATURE_TYPES:
                raise StepInputError(
                    f"spec: feature '{feature.name}' has type '{feature.type}', expected one of {FEATURE_TYPES}"
                )
            if feature.is_categorical != bool(feature.categories):
                problem = "has no 'categories'" if feature.is_categorical else "is not a String but has 'categories'"
                raise StepInputError(f"spec: feature '{feature.name}' {problem}")

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The model's input columns in order (training and serving)."""
        return tuple(f.name for f in self.features)

    @property
    def feature_groups(self) -> tuple[str, ...]:
        """Feature group names in the order their first feature appears."""
        return tuple(dict.fromkeys(f.feature_group for f in self.features))

    def features_of(self, group: str) -> tuple[FeatureColumn, ...]:
        return tuple(f for f in self.features if f.feature_group == group)

    @property
    def category_vocabularies(self) -> dict[str, tuple[str, ...]]:
        """Each categorical feature's categories (a category's model input is its index)."""
        return {f.name: f.categories for f in self.features if f.is_categorical}

    def drift_threshold_of(self, name: str) -> float:
        return self.feature(name).drift_threshold

    def feature(self, name: str) -> FeatureColumn:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def to_json(self) -> str:
        data = asdict(self)
        for feature in data["features"]:
            if not feature["categories"]:
                del feature["categories"]  # only a String feature has them
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> StepSpec:
        if not isinstance(data, dict):
            raise StepInputError("spec: expected a JSON object")
        try:
            features = tuple(
                FeatureColumn(
                    name=str(f["name"]),
                    type=str(f["type"]),
                    feature_group=str(f["feature_group"]),
                    drift_threshold=float(f["drift_threshold"]),
                    categories=_categories(f),
                )
                for f in data["features"]
            )
            return cls(
                model_name=str(data["model_name"]),
                entity_id=str(data["entity_id"]),
                event_time=str(data["event_time"]),
                label=str(data["label"]),
                features=features,
                objective=str(data["objective"]),
                absolute_threshold=float(data["absolute_threshold"]),
                min_improvement=float(data["min_improvement"]),
                decision_threshold=float(data["decision_threshold"]),
                default_drift_threshold=float(data["default_drift_threshold"]),
            )
        except KeyError as missing:
            raise StepInputError(f"spec: missing key {missing}") from None
        except (TypeError, ValueError) as error:
            raise StepInputError(f"spec: {error}") from None


def _categories(feature: dict[str, Any]) -> tuple[str, ...]:
    values = feature.get("categories", [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise StepInputError(f"spec: feature '{feature['name']}': 'categories' must be a list of non-empty strings")
    return tuple(values)


def load_step_spec(path: Path) -> StepSpec:
    return StepSpec.from_dict(read_json(path, "spec"))


def step_spec_from_model_spec(spec: Any) -> StepSpec:
    """Project a ``config.ModelSpec`` (duck-typed, so this module does not import ``config``)."""
    return StepSpec(
        model_name=spec.name,
        entity_id=spec.entity_id,
        event_time=spec.event_time,
        label=spec.label,
        features=tuple(
            FeatureColumn(
                name=f.name,
                type=str(f.type),
                feature_group=f.feature_group,
                drift_threshold=spec.drift_threshold_of(f.name),
                categories=tuple(f.categories),
            )
            for f in spec.features
        ),
        objective=str(spec.objective),
        absolute_threshold=spec.absolute_threshold,
        min_improvement=spec.min_improvement,
        decision_threshold=spec.decision_threshold,
        default_drift_threshold=spec.default_drift_threshold,
    )

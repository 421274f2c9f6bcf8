"""What is monitored, column by column: the one representation both the baseline and the drift checks use.

A model's monitored columns are its input features in spec order, then its ``prediction``:

- a numeric feature (``Integral``, ``Fractional``) is the number the endpoint receives;
- a categorical feature (``String``) is its category *label*. The endpoint receives the category's code in the
  model's vocabulary (``lambdas/shared/features.py`` encodes it for training and serving alike), so data capture
  holds the code; ``MonitoredColumn.decode`` turns a captured code back into the label with the same vocabulary
  (code ``-1``, "not in the vocabulary when it was encoded", becomes ``NOT_IN_VOCABULARY``; any other value
  that is not a code stays as captured, so it shows up as a new value). Labels keep a categorical a ``String``
  for every reader: the drift job compares value frequencies, Model Monitor's analyzer (built on Deequ, which
  types a value by its text) sees text, not integers, and the report can name the categories;
- the ``prediction`` is the endpoint's output, the candidate's score (``Fractional``).

The baseline step (pipeline_defs/scripts/baseline.py), the drift job's config (``monitoring_job.config``), the
Model Monitor record preprocessor (``monitor_stats.preprocessor``) and the bootstrap's check all build their
columns with ``monitored_columns``, so they cannot disagree on names, order, types or encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

PREDICTION = "prediction"
# Field texts that mean "no value", in every column (captures and baseline data alike).
MISSING_TOKENS = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None"})
# Label of code -1: the value was outside the vocabulary when the feature was encoded (lambdas/shared/features.py).
NOT_IN_VOCABULARY = "(not in vocabulary)"
NOT_IN_VOCABULARY_CODE = -1


class FeatureKind(StrEnum):
    """Model Monitor ``inferred_type`` values (also the Feature Store feature types)."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"

    @property
    def is_numeric(self) -> bool:
        return self is not FeatureKind.STRING


def category_label(text: str, categories: Sequence[str]) -> str:
    """The label a captured categorical value stands for (see the module docstring).

    Self-contained on purpose: ``monitor_stats.preprocessor`` copies this function's source into the Model
    Monitor record preprocessor, so both backends decode with the same code.
    """
    value = text.strip()
    if not categories:
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and 0 <= number < len(categories):
        return categories[int(number)]
    if number == NOT_IN_VOCABULARY_CODE:
        return NOT_IN_VOCABULARY
    return value


@dataclass(frozen=True, kw_only=True)
class MonitoredColumn:
    """One monitored column. ``categories``: the vocabulary (label by code) of a categorical model input."""

    name: str
    kind: FeatureKind
    drift_threshold: float
    categories: tuple[str, ...] = field(default=())

    def decode(self, text: str) -> str:
        return category_label(text, self.categories)

    @property
    def fingerprint(self) -> str:
        """Name, type and vocabulary: what shapes this column's statistics."""
        vocabulary = hashlib.sha256("\0".join(self.categories).encode()).hexdigest()[:12] if self.categories else ""
        return f"{self.name}:{self.kind}:{vocabulary}"


def monitored_columns(
    features: Iterable[tuple[str, str, float]],
    *,
    prediction_threshold: float,
    vocabularies: Mapping[str, Sequence[str]],
) -> tuple[MonitoredColumn, ...]:
    """The monitored columns of a model: ``(name, type, drift threshold)`` per input feature in spec order, then
    the prediction. ``vocabularies`` maps a categorical feature to the vocabulary its model input is encoded with.
    """
    columns = []
    for name, type_name, threshold in features:
        kind = FeatureKind(type_name)
        categories = tuple(vocabularies.get(name, ())) if kind is FeatureKind.STRING else ()
        columns.append(MonitoredColumn(name=name, kind=kind, drift_threshold=threshold, categories=categories))
    columns.append(MonitoredColumn(name=PREDICTION, kind=FeatureKind.FRACTIONAL, drift_threshold=prediction_threshold))
    return tuple(columns)


class _SpecFeature(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def categories(self) -> Sequence[str]: ...


class ModelSpecLike(Protocol):
    """What ``spec_columns`` reads of a spec: ``config.ModelSpec`` and the step scripts' ``StepSpec`` both fit."""

    @property
    def features(self) -> Sequence[_SpecFeature]: ...

    @property
    def default_drift_threshold(self) -> float: ...

    def drift_threshold_of(self, feature: str) -> float: ...


def spec_columns(spec: ModelSpecLike) -> tuple[MonitoredColumn, ...]:
    """The monitored columns of a spec (``monitored_columns`` with the spec's types, drift thresholds and the
    categories its model input encodes a categorical feature with)."""
    return monitored_columns(
        ((f.name, str(f.type), spec.drift_threshold_of(f.name)) for f in spec.features),
        prediction_threshold=spec.default_drift_threshold,
        vocabularies={f.name: f.categories for f in spec.features if f.categories},
    )

"""Data-quality statistics and constraints in SageMaker Model Monitor's file formats.

Shared by the baseline step (statistics of the training data) and the ``processing`` monitoring backend
(statistics of captured traffic, compared with the baseline). Everything here streams and merges: feed rows
in any number of chunks or shards, ``merge`` the partial results, and the output does not depend on how the
data was split (up to the KLL sketch's approximation once a column exceeds the sketch's capacity).

``statistics.json``::

    {"version": 0.0, "dataset": {"item_count": N},
     "features": [{"name": .., "inferred_type": "Fractional" | "Integral",
                   "numerical_statistics": {"common": {"num_present": .., "num_missing": ..},
                                            "mean": .., "sum": .., "std_dev": .., "min": .., "max": ..,
                                            "distribution": {"kll": {"buckets": [{"lower_bound": ..,
                                                  "upper_bound": .., "count": ..}, x10],
                                                  "sketch": {"parameters": {"c": .., "k": ..},
                                                             "data": [[level 0], [level 1], ..]}}}}}
                | {"name": .., "inferred_type": "String",
                   "string_statistics": {"common": {..}, "distinct_count": ..,
                                         "distribution": {"categorical": {"buckets": [{"value": .., "count": ..}]}}}}]}

``std_dev`` is the population standard deviation. The ten KLL buckets split ``[min, max]`` evenly; their counts
come from the sketch (exact until a column outgrows it) and always add up to ``num_present``.

``constraints.json`` (``suggest_constraints``)::

    {"version": 0.0,
     "features": [{"name": .., "inferred_type": .., "completeness": 1.0,
                   "num_constraints": {"is_non_negative": true}            (numeric)
                   "string_constraints": {"domains": [..]}                  (string, small cardinality)
                   "monitoringConfigOverrides": {"distribution_constraints": {"comparison_threshold": ..}}}],
     "monitoring_config": {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
                           "datatype_check_threshold": 0.1, "domain_content_threshold": 0.1,
                           "distribution_constraints": {"perform_comparison": "Enabled",
                                                        "comparison_threshold": 0.1, "comparison_method": "Robust"}}}

The per-feature override is written only where the spec gives a feature its own drift threshold.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
KLL_K = 2048
KLL_C = 0.64
BUCKETS = 10
MAX_DOMAIN_SIZE = 32


class StatisticsError(ValueError):
    """Data that cannot be summarised (no rows, ragged rows, unknown column)."""


# ---- KLL sketch ----


class KllSketch:
    """A mergeable quantile sketch (Karnin, Lang, Liberty 2016) with SageMaker's parameters (k=2048, c=0.64).

    Level ``h`` holds items of weight ``2**h``; a level over its capacity is sorted and every other item moves
    up a level. Which half moves alternates deterministically, so the same input gives the same sketch.
    Total weight always equals the number of items added.
    """

    def __init__(self, k: int = KLL_K, c: float = KLL_C) -> None:
        self.k = k
        self.c = c
        self.levels: list[list[float]] = [[]]
        self.count = 0
        self._flip = 0

    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - level - 1
        return max(2, math.ceil(self.k * self.c**depth))

    def update(self, values: Iterable[float]) -> None:
        for value in values:
            self.levels[0].append(value)
            self.count += 1
            if len(self.levels[0]) > self._capacity(0):
                self._compress()

    def merge(self, other: KllSketch) -> None:
        if (other.k, other.c) != (self.k, self.c):
            raise StatisticsError("cannot merge KLL sketches with different parameters")
        while len(self.levels) < len(other.levels):
            self.levels.append([])
        for level, items in enumerate(other.levels):
            self.levels[level].extend(items)
        self.count += other.count
        self._compress()

    def _compress(self) -> None:
        """Compact the lowest over-full level until none is; adding a level shrinks the ones below it."""
        while True:
            level = next((h for h in range(len(self.levels)) if len(self.levels[h]) > self._capacity(h)), None)
            if level is None:
                return
            if level + 1 == len(self.levels):
                self.levels.append([])
            items = sorted(self.levels[level])
            kept = [items.pop(0 if self._flip else -1)] if len(items) % 2 else []
            self.levels[level + 1].extend(items[self._flip :: 2])
            self.levels[level] = kept
            self._flip ^= 1

    def weighted_items(self) -> list[tuple[float, int]]:
        return [(value, 1 << level) for level, items in enumerate(self.levels) for value in items]

    def to_json(self) -> dict[str, Any]:
        return {"parameters": {"c": self.c, "k": float(self.k)}, "data": [list(items) for items in self.levels]}


# ---- per-column accumulators ----


class NumericColumn:
    """Count, missing, mean/variance (Chan's parallel update), min, max and a KLL sketch of one column."""

    def __init__(self, name: str, inferred_type: str) -> None:
        self.name = name
        self.inferred_type = inferred_type
        self.present = 0
        self.missing = 0
        self.type_mismatches = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._sum = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.sketch = KllSketch()

    def add(self, value: object) -> None:
        number = _as_number(value)
        if number is None:
            if value is None or value == "":
                self.missing += 1
            else:
                self.type_mismatches += 1
            return
        if self.inferred_type == INTEGRAL and not number.is_integer():
            self.type_mismatches += 1
        self.present += 1
        delta = number - self._mean
        self._mean += delta / self.present
        self._m2 += delta * (number - self._mean)
        self._sum += number
        self.minimum = min(self.minimum, number)
        self.maximum = max(self.maximum, number)
        self.sketch.update((number,))

    def merge(self, other: NumericColumn) -> None:
        if other.present:
            total = self.present + other.present
            delta = other._mean - self._mean
            self._m2 += other._m2 + delta * delta * self.present * other.present / total
            self._mean += delta * other.present / total
            self.present = total
            self._sum += other._sum
            self.minimum = min(self.minimum, other.minimum)
            self.maximum = max(self.maximum, other.maximum)
            self.sketch.merge(other.sketch)
        self.missing += other.missing
        self.type_mismatches += other.type_mismatches

    def to_json(self) -> dict[str, Any]:
        common = {"num_present": self.present, "num_missing": self.missing}
        if not self.present:
            return {"name": self.name, "inferred_type": self.inferred_type, "numerical_statistics": {"common": common}}
        return {
            "name": self.name,
            "inferred_type": self.inferred_type,
            "numerical_statistics": {
                "common": common,
                "mean": self._mean,
                "sum": self._sum,
                "std_dev": math.sqrt(max(self._m2, 0.0) / self.present),
                "min": self.minimum,
                "max": self.maximum,
                "distribution": {"kll": {"buckets": self._buckets(), "sketch": self.sketch.to_json()}},
            },
        }

    def _buckets(self) -> list[dict[str, float]]:
        width = (self.maximum - self.minimum) / BUCKETS
        edges = [self.minimum + width * i for i in range(BUCKETS)] + [self.maximum]
        counts = [0] * BUCKETS
        for value, weight in self.sketch.weighted_items():
            index = min(int((value - self.minimum) / width), BUCKETS - 1) if width > 0 else 0
            counts[index] += weight
        return [
            {"lower_bound": edges[i], "upper_bound": edges[i + 1], "count": float(counts[i])} for i in range(BUCKETS)
        ]


class StringColumn:
    """Count, missing and value frequencies of one categorical column."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inferred_type = STRING
        self.missing = 0
        self.type_mismatches = 0
        self.values: Counter[str] = Counter()

    @property
    def present(self) -> int:
        return sum(self.values.values())

    def add(self, value: object) -> None:
        if value is None or value == "":
            self.missing += 1
        else:
            self.values[str(value)] += 1

    def merge(self, other: StringColumn) -> None:
        self.missing += other.missing
        self.values.update(other.values)

    def to_json(self) -> dict[str, Any]:
        buckets = [
            {"value": value, "count": float(count)}
            for value, count in sorted(self.values.items(), key=lambda item: (-item[1], item[0]))
        ]
        return {
            "name": self.name,
            "inferred_type": STRING,
            "string_statistics": {
                "common": {"num_present": self.present, "num_missing": self.missing},
                "distinct_count": float(len(self.values)),
                "distribution": {"categorical": {"buckets": buckets}},
            },
        }


Column = NumericColumn | StringColumn


def _as_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def infer_type(values: Iterable[object]) -> str:
    """Integral if every non-empty value is a whole number, Fractional if a number, else String."""
    kind = INTEGRAL
    for value in values:
        if value is None or value == "":
            continue
        number = _as_number(value)
        if number is None:
            return STRING
        if not number.is_integer():
            kind = FRACTIONAL
    return kind


# ---- dataset statistics ----


class DatasetStatistics:
    """Statistics of a table with known columns; rows may arrive in chunks and partial results merge."""

    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        if not columns:
            raise StatisticsError("no columns to summarise")
        self.columns: list[Column] = [
            StringColumn(name) if kind == STRING else NumericColumn(name, kind) for name, kind in columns
        ]
        self.item_count = 0

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def add_row(self, values: Sequence[object]) -> None:
        if len(values) != len(self.columns):
            raise StatisticsError(f"row {self.item_count + 1} has {len(values)} values, expected {len(self.columns)}")
        for column, value in zip(self.columns, values, strict=True):
            column.add(value)
        self.item_count += 1

    def add_rows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.add_row(row)

    def merge(self, other: DatasetStatistics) -> None:
        if [(c.name, c.inferred_type) for c in other.columns] != [(c.name, c.inferred_type) for c in self.columns]:
            raise StatisticsError("cannot merge statistics of different columns")
        for mine, theirs in zip(self.columns, other.columns, strict=True):
            mine.merge(theirs)  # type: ignore[arg-type]  # same position => same class
        self.item_count += other.item_count

    def to_json(self) -> dict[str, Any]:
        if self.item_count == 0:
            raise StatisticsError("no rows to summarise")
        return {
            "version": 0.0,
            "dataset": {"item_count": self.item_count},
            "features": [column.to_json() for column in self.columns],
        }


def read_csv_with_header(
    path: Path, types: Mapping[str, str] | None = None, sample_rows: int = 1000
) -> DatasetStatistics:
    """Statistics of a CSV file with a header. Column types come from ``types`` or are inferred from the
    first ``sample_rows`` rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise StatisticsError(f"'{path.name}' is empty: expected a header row")
        rows = list(reader)
    if not rows:
        raise StatisticsError(f"'{path.name}' has a header but no rows")
    if types is not None:
        unknown = [name for name in header if name not in types]
        if unknown:
            raise StatisticsError(f"'{path.name}' has column(s) {unknown} without a declared type")
        kinds = [types[name] for name in header]
    else:
        sample = rows[:sample_rows]
        kinds = [infer_type(row[i] if i < len(row) else None for row in sample) for i in range(len(header))]
    statistics = DatasetStatistics(list(zip(header, kinds, strict=True)))
    statistics.add_rows(rows)
    return statistics


# ---- constraints ----


def suggest_constraints(
    statistics: Mapping[str, Any],
    *,
    default_drift_threshold: float = 0.1,
    drift_thresholds: Mapping[str, float] | None = None,
    comparison_method: str = "Robust",
    datatype_check_threshold: float = 0.1,
    domain_content_threshold: float = 0.1,
) -> dict[str, Any]:
    """``constraints.json`` for a ``statistics.json`` (the baseline)."""
    item_count = statistics["dataset"]["item_count"]
    features = []
    for feature in statistics["features"]:
        name, kind = feature["name"], feature["inferred_type"]
        entry: dict[str, Any] = {"name": name, "inferred_type": kind}
        if kind == STRING:
            body = feature["string_statistics"]
            entry["completeness"] = body["common"]["num_present"] / item_count
            values = [bucket["value"] for bucket in body["distribution"]["categorical"]["buckets"]]
            if len(values) <= MAX_DOMAIN_SIZE:
                entry["string_constraints"] = {"domains": sorted(values)}
        else:
            body = feature["numerical_statistics"]
            entry["completeness"] = body["common"]["num_present"] / item_count
            entry["num_constraints"] = {"is_non_negative": bool(body.get("min", 0.0) >= 0)}
        threshold = (drift_thresholds or {}).get(name, default_drift_threshold)
        if threshold != default_drift_threshold:
            entry["monitoringConfigOverrides"] = {"distribution_constraints": {"comparison_threshold": threshold}}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": datatype_check_threshold,
            "domain_content_threshold": domain_content_threshold,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": default_drift_threshold,
                "comparison_method": comparison_method,
            },
        },
    }


# Model-quality metrics a drop in which is a violation (the rest of the evaluation is informational).
MODEL_QUALITY_METRICS = ("auc", "pr_auc", "accuracy", "precision", "recall", "f1")


def model_quality_constraints(metrics: Mapping[str, Any], *, relative_tolerance: float = 0.1) -> dict[str, Any]:
    """Model-quality ``constraints.json``: alarm when a metric falls below ``(1 - tolerance) x`` baseline."""
    if not 0.0 <= relative_tolerance < 1.0:
        raise StatisticsError(f"relative tolerance {relative_tolerance} must be in [0, 1)")
    constraints = {}
    for name in MODEL_QUALITY_METRICS:
        if name in metrics:
            value = float(metrics[name]["value"])
            constraints[name] = {
                "threshold": round(value * (1.0 - relative_tolerance), 6),
                "comparison_operator": "LessThanThreshold",
            }
    return {"version": 0.0, "binary_classification_constraints": constraints}

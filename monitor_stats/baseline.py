"""Read a Model Monitor baseline: ``statistics.json`` and ``constraints.json``.

Formats (Amazon SageMaker Developer Guide, "Schema for Statistics" and "Schema for Constraints";
summarised in docs/aws-facts.md#baseline-and-report-files):

- statistics.json: ``{"version": 0, "dataset": {"item_count": N}, "features": [...]}``. A numeric feature has
  ``numerical_statistics{common{num_present, num_missing}, mean, sum, std_dev, min, max,
  distribution{kll{buckets[{lower_bound, upper_bound, count}], sketch{parameters{c, k}, data}}}}``; a string
  feature has ``string_statistics{common, distinct_count, distribution{categorical{buckets[{value, count}]}}}``.
  The built-in container materialises 10 KLL buckets.
- constraints.json: ``{"version": 0, "features": [{name, inferred_type, completeness, num_constraints
  {is_non_negative}, string_constraints{domains}}], "monitoring_config": {evaluate_constraints, emit_metrics,
  datatype_check_threshold, domain_content_threshold, distribution_constraints{perform_comparison,
  comparison_threshold, comparison_method}}}``.

What the comparison needs from a numeric baseline is its distribution on a grid of edges:

- the *coarse* grid is the KLL buckets' edges (the Model-Monitor-comparable bins);
- the *fine* grid adds 99 percentiles of the KLL sketch, so the Kolmogorov-Smirnov estimate in compare.py is
  not limited to 10 buckets. The sketch's ``data`` is read as KLL compactor levels: an item at level ``h``
  stands for ``2**h`` input values (Karnin, Lang, Liberty, "Optimal Quantile Approximation in Streams", 2016).
  This weight rule is our reading of the format, which AWS does not document; weights are normalised, so only
  their ratios matter. Without a sketch the fine grid is the coarse one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor_stats.binning import FloatArray, IntArray, bin_counts, coarse_map, normalise_edges
from monitor_stats.columns import FeatureKind, MonitoredColumn
from monitor_stats.errors import BaselineError

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
SKETCH_QUANTILES = 100  # fine grid: the 1st..99th percentiles of the baseline sketch


@dataclass(frozen=True, kw_only=True)
class NumericBaseline:
    name: str
    kind: FeatureKind
    num_present: int
    num_missing: int
    mean: float
    std_dev: float
    minimum: float
    maximum: float
    bucket_edges: FloatArray  # coarse edges (KLL buckets)
    bucket_probs: FloatArray  # per coarse bin incl. under/overflow (always 0), from the stated bucket counts
    grid: FloatArray  # fine edges, a superset of bucket_edges
    grid_probs: FloatArray  # per fine bin incl. under/overflow
    grid_to_bucket: IntArray  # fine bin -> coarse bin
    has_sketch: bool


@dataclass(frozen=True, kw_only=True)
class CategoricalBaseline:
    name: str
    num_present: int
    num_missing: int
    distinct_count: int
    counts: dict[str, float]  # value -> count from the categorical buckets


@dataclass(frozen=True, kw_only=True)
class FeatureConstraint:
    name: str
    inferred_type: str
    completeness: float | None
    is_non_negative: bool | None
    domains: tuple[str, ...] | None


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 0.1
    domain_content_threshold: float = 0.1
    perform_comparison: bool = True
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"


@dataclass(frozen=True, kw_only=True)
class Baseline:
    item_count: int
    types: dict[str, str]  # every statistics feature -> inferred_type (Unknown included)
    numeric: dict[str, NumericBaseline]
    categorical: dict[str, CategoricalBaseline]
    constraints: dict[str, FeatureConstraint]
    monitoring: MonitoringConfig
    fingerprint: str
    sources: tuple[str, ...] = field(default=())

    def domain_of(self, name: str) -> frozenset[str] | None:
        """Known values of a string feature: the constraint's domains, else the baseline buckets."""
        constraint = self.constraints.get(name)
        if constraint is not None and constraint.domains is not None:
            return frozenset(constraint.domains)
        categorical = self.categorical.get(name)
        return frozenset(categorical.counts) if categorical is not None else None


@dataclass(frozen=True)
class ColumnMismatch:
    """A monitored column the baseline does not describe as the model's columns say (a Model Monitor check type)."""

    name: str
    check: str  # missing_column_check | extra_column_check | data_type_check
    description: str


def column_mismatches(baseline: Baseline, columns: Sequence[MonitoredColumn]) -> list[ColumnMismatch]:
    """Where ``baseline`` and the model's monitored columns disagree: a baseline column the model does not have,
    a model column (the prediction included) the baseline lacks, a categorical typed as a number or the reverse.
    Empty when the baseline was written for these columns (the baseline step's output always is)."""
    found: list[ColumnMismatch] = []
    names = {c.name for c in columns}
    for name in baseline.types:
        if name not in names:
            text = f"Baseline feature '{name}' is not among the model's monitored columns"
            found.append(ColumnMismatch(name, "missing_column_check", text))
    for column in columns:
        baseline_type = baseline.types.get(column.name)
        if baseline_type is None:
            text = f"Column '{column.name}' is monitored but not in the baseline statistics, so it cannot be compared"
            found.append(ColumnMismatch(column.name, "extra_column_check", text))
        elif (baseline_type == FeatureKind.STRING) != (not column.kind.is_numeric):
            text = (
                f"Column '{column.name}' is {column.kind.value} in the model's columns "
                f"but {baseline_type} in the baseline"
            )
            found.append(ColumnMismatch(column.name, "data_type_check", text))
    return found


def load_baseline(directory: Path) -> Baseline:
    """Read ``statistics.json`` and ``constraints.json`` from ``directory``."""
    stats_path, constraints_path = directory / STATISTICS_FILE, directory / CONSTRAINTS_FILE
    stats_bytes, stats = _read_json(stats_path)
    constraints_bytes, constraints = _read_json(constraints_path)
    digest = hashlib.sha256(stats_bytes + b"\0" + constraints_bytes).hexdigest()[:16]
    return parse_baseline(stats, constraints, fingerprint=digest, sources=(str(stats_path), str(constraints_path)))


def parse_baseline(
    statistics: object, constraints: object, *, fingerprint: str = "", sources: tuple[str, ...] = ()
) -> Baseline:
    stats_obj = _mapping(statistics, STATISTICS_FILE)
    constraints_obj = _mapping(constraints, CONSTRAINTS_FILE)
    types: dict[str, str] = {}
    numeric: dict[str, NumericBaseline] = {}
    categorical: dict[str, CategoricalBaseline] = {}
    for i, raw in enumerate(_list(stats_obj, "features", STATISTICS_FILE)):
        where = f"{STATISTICS_FILE}: features[{i}]"
        feature = _mapping(raw, where)
        name = _text(feature, "name", where)
        inferred = _text(feature, "inferred_type", where)
        types[name] = inferred
        if inferred in (FeatureKind.INTEGRAL, FeatureKind.FRACTIONAL):
            numeric[name] = _numeric(feature, name, FeatureKind(inferred), f"{where}({name})")
        elif inferred == FeatureKind.STRING:
            categorical[name] = _categorical(feature, name, f"{where}({name})")
    dataset = _mapping(stats_obj.get("dataset", {}), f"{STATISTICS_FILE}: dataset")
    return Baseline(
        item_count=int(_num(dataset, "item_count", f"{STATISTICS_FILE}: dataset", default=0)),
        types=types,
        numeric=numeric,
        categorical=categorical,
        constraints=_constraints(constraints_obj),
        monitoring=_monitoring(constraints_obj.get("monitoring_config", {})),
        fingerprint=fingerprint,
        sources=sources,
    )


def _read_json(path: Path) -> tuple[bytes, object]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BaselineError(str(path), f"cannot be read ({error.strerror or error})") from error
    try:
        return data, json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BaselineError(str(path), f"is not valid JSON ({error})") from error


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise BaselineError(where, f"must be a JSON object, got {type(raw).__name__}")
    return raw


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise BaselineError(f"{where}: {key}", "is required and must be a list")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BaselineError(f"{where}.{key}", "is required and must be a non-empty string")
    return value


def _num(obj: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise BaselineError(f"{where}.{key}", f"must be a finite number, got {value!r}")
    return float(value)


def _numeric(feature: Mapping[str, Any], name: str, kind: FeatureKind, where: str) -> NumericBaseline:
    stats = _mapping(feature.get("numerical_statistics"), f"{where}.numerical_statistics")
    common = _mapping(stats.get("common", {}), f"{where}.numerical_statistics.common")
    present = int(_num(common, "num_present", f"{where}.common"))
    kll = _mapping(_mapping(stats.get("distribution"), f"{where}.distribution").get("kll"), f"{where}.distribution.kll")
    edges, counts = _buckets(_list(kll, "buckets", f"{where}.kll"), f"{where}.kll.buckets")
    total = counts.sum()
    bucket_probs = np.concatenate(([0.0], counts / total if total > 0 else counts, [0.0]))
    items, weights = _sketch(kll.get("sketch"), f"{where}.kll.sketch")
    grid, grid_probs = _fine_grid(edges, bucket_probs, items, weights)
    return NumericBaseline(
        name=name,
        kind=kind,
        num_present=present,
        num_missing=int(_num(common, "num_missing", f"{where}.common", default=0)),
        mean=_num(stats, "mean", where, default=0.0),
        std_dev=_num(stats, "std_dev", where, default=0.0),
        minimum=_num(stats, "min", where, default=float(edges[0])),
        maximum=_num(stats, "max", where, default=float(edges[-1])),
        bucket_edges=edges,
        bucket_probs=bucket_probs,
        grid=grid,
        grid_probs=grid_probs,
        grid_to_bucket=coarse_map(grid, edges),
        has_sketch=items.size > 0,
    )


def _buckets(raw: list[Any], where: str) -> tuple[FloatArray, FloatArray]:
    if not raw:
        raise BaselineError(where, "needs at least one bucket")
    lows, highs, counts = [], [], []
    for i, bucket in enumerate(raw):
        item = _mapping(bucket, f"{where}[{i}]")
        lows.append(_num(item, "lower_bound", f"{where}[{i}]"))
        highs.append(_num(item, "upper_bound", f"{where}[{i}]"))
        counts.append(_num(item, "count", f"{where}[{i}]"))
    if any(b < a for a, b in itertools.pairwise(lows)) or highs[-1] < lows[-1]:
        raise BaselineError(where, "buckets must be sorted by lower_bound with upper_bound >= lower_bound")
    if min(counts) < 0:
        raise BaselineError(where, "bucket counts must be non-negative")
    edges = normalise_edges([*lows, highs[-1]])
    # Re-bin the stated counts onto the de-duplicated edges (zero-width buckets merge into their neighbour).
    stated = bin_counts(edges, np.asarray(lows, dtype=np.float64), np.asarray(counts, dtype=np.float64))
    return edges, stated[1:-1]


def _sketch(raw: object, where: str) -> tuple[FloatArray, FloatArray]:
    empty = np.empty(0, dtype=np.float64)
    if raw is None:
        return empty, empty
    data = _mapping(raw, where).get("data", [])
    if not isinstance(data, list):
        raise BaselineError(f"{where}.data", "must be a list of lists of numbers")
    items: list[float] = []
    weights: list[float] = []
    for level, compactor in enumerate(data):
        if not isinstance(compactor, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in compactor
        ):
            raise BaselineError(f"{where}.data[{level}]", "must be a list of numbers")
        items.extend(float(x) for x in compactor)
        weights.extend([float(2**level)] * len(compactor))
    values = np.asarray(items, dtype=np.float64)
    keep = np.isfinite(values)
    return values[keep], np.asarray(weights, dtype=np.float64)[keep]


def _fine_grid(
    edges: FloatArray, bucket_probs: FloatArray, items: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    if items.size == 0:
        return edges, bucket_probs
    order = np.argsort(items, kind="stable")
    sorted_items, cumulative = items[order], np.cumsum(weights[order])
    targets = cumulative[-1] * np.arange(1, SKETCH_QUANTILES) / SKETCH_QUANTILES
    quantiles = sorted_items[np.searchsorted(cumulative, targets, side="left")]
    grid = normalise_edges(np.concatenate((edges, np.clip(quantiles, edges[0], edges[-1]))))
    probs = bin_counts(grid, items, weights)
    return grid, probs / probs.sum()


def _categorical(feature: Mapping[str, Any], name: str, where: str) -> CategoricalBaseline:
    stats = _mapping(feature.get("string_statistics"), f"{where}.string_statistics")
    common = _mapping(stats.get("common", {}), f"{where}.string_statistics.common")
    distribution = _mapping(stats.get("distribution", {}), f"{where}.distribution")
    categorical = _mapping(distribution.get("categorical", {"buckets": []}), f"{where}.distribution.categorical")
    counts: dict[str, float] = {}
    for i, bucket in enumerate(_list(categorical, "buckets", f"{where}.categorical")):
        item = _mapping(bucket, f"{where}.categorical.buckets[{i}]")
        value = item.get("value")
        if not isinstance(value, str):
            raise BaselineError(f"{where}.categorical.buckets[{i}].value", "must be a string")
        counts[value] = counts.get(value, 0.0) + _num(item, "count", f"{where}.categorical.buckets[{i}]")
    return CategoricalBaseline(
        name=name,
        num_present=int(_num(common, "num_present", f"{where}.common")),
        num_missing=int(_num(common, "num_missing", f"{where}.common", default=0)),
        distinct_count=int(_num(stats, "distinct_count", where, default=len(counts))),
        counts=counts,
    )


def _constraints(obj: Mapping[str, Any]) -> dict[str, FeatureConstraint]:
    result: dict[str, FeatureConstraint] = {}
    for i, raw in enumerate(_list(obj, "features", CONSTRAINTS_FILE)):
        where = f"{CONSTRAINTS_FILE}: features[{i}]"
        feature = _mapping(raw, where)
        name = _text(feature, "name", where)
        completeness = feature.get("completeness")
        if completeness is not None:
            completeness = _num(feature, "completeness", where)
        num = _mapping(feature.get("num_constraints", {}), f"{where}.num_constraints")
        non_negative = num.get("is_non_negative")
        strings = _mapping(feature.get("string_constraints", {}), f"{where}.string_constraints")
        domains = strings.get("domains")
        if domains is not None and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
            raise BaselineError(f"{where}.string_constraints.domains", "must be a list of strings")
        result[name] = FeatureConstraint(
            name=name,
            inferred_type=str(feature.get("inferred_type", "Unknown")),
            completeness=completeness,
            is_non_negative=bool(non_negative) if non_negative is not None else None,
            domains=tuple(domains) if domains is not None else None,
        )
    return result


def _enabled(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, "Enabled")
    if value not in ("Enabled", "Disabled"):
        raise BaselineError(f"{where}.{key}", f"must be 'Enabled' or 'Disabled', got {value!r}")
    return bool(value == "Enabled")


def _monitoring(raw: object) -> MonitoringConfig:
    where = f"{CONSTRAINTS_FILE}: monitoring_config"
    obj = _mapping(raw, where)
    distribution = _mapping(obj.get("distribution_constraints", {}), f"{where}.distribution_constraints")
    method = distribution.get("comparison_method", "Robust")
    if method not in ("Simple", "Robust"):
        raise BaselineError(f"{where}.distribution_constraints.comparison_method", f"unknown method {method!r}")
    return MonitoringConfig(
        evaluate_constraints=_enabled(obj, "evaluate_constraints", where),
        emit_metrics=_enabled(obj, "emit_metrics", where),
        datatype_check_threshold=_num(obj, "datatype_check_threshold", where, default=0.1),
        domain_content_threshold=_num(obj, "domain_content_threshold", where, default=0.1),
        perform_comparison=_enabled(distribution, "perform_comparison", f"{where}.distribution_constraints"),
        comparison_threshold=_num(distribution, "comparison_threshold", f"{where}.distribution_constraints", 0.1),
        comparison_method=str(method),
    )

"""Write a baseline (``statistics.json`` + ``constraints.json``) of the monitored columns: the baseline step's
writer, and the test and benchmark data's.

Model Monitor's baselining job does this in AWS; this is the project's equivalent for both backends. The files
follow the documented formats (docs/aws-facts.md#baseline-and-report-files):

- numeric columns: 10 equal-width KLL buckets between min and max (the built-in container materialises 10),
  and a ``sketch`` that is a fully compacted KLL sketch of the exact sorted data: every ``2**h``-th order
  statistic at level ``h``, the smallest ``h`` that keeps at most ``k = 2048`` items (each item then stands
  for ``2**h`` values, the weight rule baseline.py reads);
- string columns: every value and its count, and ``string_constraints.domains`` when there are at most
  ``MAX_DOMAIN`` distinct values ("observed values for small cardinality");
- constraints: observed completeness, ``is_non_negative`` when the minimum is >= 0, the monitoring config
  (comparison threshold = the spec's default drift threshold, method Robust) and, for a column whose drift
  threshold differs from the default, ``monitoringConfigOverrides.distribution_constraints.comparison_threshold``.

``read_model_input_csv`` reads the rows to baseline from a CSV of model inputs as the endpoint receives them
(a header of feature names, categoricals as vocabulary codes) and decodes them exactly as the drift job decodes
captures (``MonitoredColumn.decode``). Everything is held in memory: meant for training-set-sized samples.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monitor_stats.binning import FloatArray, bin_counts, normalise_edges
from monitor_stats.columns import MISSING_TOKENS, MonitoredColumn
from monitor_stats.errors import BaselineError

BUCKETS = 10
SKETCH_K = 2048
SKETCH_C = 0.64
MAX_DOMAIN = 100
DATATYPE_CHECK_THRESHOLD = 0.1
DOMAIN_CONTENT_THRESHOLD = 0.1

Column = FloatArray | Sequence[str | None]


def suggest_baseline(
    columns: Mapping[str, Column], monitored: Sequence[MonitoredColumn], *, default_drift_threshold: float = 0.1
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) documents for the ``monitored`` columns, in their order (each needs a column)."""
    missing = [c.name for c in monitored if c.name not in columns]
    if missing:
        raise BaselineError("data", f"no values for monitored column(s) {missing}")
    lengths = {len(columns[c.name]) for c in monitored}
    if len(lengths) != 1:
        raise BaselineError("data", f"columns have different lengths {sorted(lengths)}")
    stats_features: list[dict[str, Any]] = []
    constraint_features: list[dict[str, Any]] = []
    for column in monitored:
        data = columns[column.name]
        if column.kind.is_numeric:
            values = np.asarray(data, dtype=np.float64)
            stats_features.append(_numeric_statistics(column, values))
            constraint = _numeric_constraint(column, values)
        else:
            texts = list(data)
            stats_features.append(_string_statistics(column, texts))
            constraint = _string_constraint(column, texts)
        if column.drift_threshold != default_drift_threshold:
            overrides = {"distribution_constraints": {"comparison_threshold": column.drift_threshold}}
            constraint["monitoringConfigOverrides"] = overrides
        constraint_features.append(constraint)
    statistics = {"version": 0.0, "dataset": {"item_count": lengths.pop()}, "features": stats_features}
    constraints = {
        "version": 0.0,
        "features": constraint_features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": DATATYPE_CHECK_THRESHOLD,
            "domain_content_threshold": DOMAIN_CONTENT_THRESHOLD,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": default_drift_threshold,
                "comparison_method": "Robust",
            },
        },
    }
    return statistics, constraints


def read_model_input_csv(path: Path, inputs: Sequence[MonitoredColumn]) -> dict[str, Column]:
    """The columns of a model-input CSV with a header (the endpoint's input, one row per request), decoded as
    the drift job decodes captures. The header must be the inputs' names in order."""
    where = path.name
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = list(reader)
    except OSError as error:
        raise BaselineError(where, f"cannot be read ({error.strerror or error})") from None
    expected = [c.name for c in inputs]
    if header != expected:
        raise BaselineError(where, f"header {header} is not the model's input columns in order {expected}")
    if not rows:
        raise BaselineError(where, "has a header but no rows")
    ragged = next((i for i, row in enumerate(rows, start=2) if len(row) != len(expected)), None)
    if ragged is not None:
        raise BaselineError(where, f"line {ragged} has {len(rows[ragged - 2])} values, expected {len(expected)}")
    columns: dict[str, Column] = {}
    for index, column in enumerate(inputs):
        texts = [row[index] for row in rows]
        if column.kind.is_numeric:
            columns[column.name] = _numbers(texts, column.name, where)
        else:
            columns[column.name] = [None if t.strip() in MISSING_TOKENS else column.decode(t) for t in texts]
    return columns


def _numbers(texts: Sequence[str], name: str, where: str) -> FloatArray:
    values = np.empty(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        if text.strip() in MISSING_TOKENS:
            values[i] = math.nan
            continue
        try:
            values[i] = float(text)
        except ValueError:
            raise BaselineError(where, f"line {i + 2}: '{text}' in numeric column '{name}' is not a number") from None
        if not math.isfinite(values[i]):
            raise BaselineError(where, f"line {i + 2}: '{text}' in numeric column '{name}' is not finite")
    return values


def _numeric_statistics(feature: MonitoredColumn, values: FloatArray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    common = {"num_present": int(present.size), "num_missing": int(values.size - present.size)}
    if present.size == 0:
        empty = {"mean": 0.0, "sum": 0.0, "std_dev": 0.0, "min": 0.0, "max": 0.0}
        return {
            "name": feature.name,
            "inferred_type": feature.kind.value,
            "numerical_statistics": {"common": common, **empty, "distribution": {"kll": {"buckets": []}}},
        }
    low, high = float(present.min()), float(present.max())
    edges = normalise_edges(np.linspace(low, high, BUCKETS + 1))
    counts = bin_counts(edges, present)[1:-1]
    buckets = [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(counts[i])}
        for i in range(edges.size - 1)
    ]
    return {
        "name": feature.name,
        "inferred_type": feature.kind.value,
        "numerical_statistics": {
            "common": common,
            "mean": float(present.mean()),
            "sum": float(present.sum()),
            "std_dev": float(present.std()),
            "min": low,
            "max": high,
            "distribution": {"kll": {"buckets": buckets, "sketch": _sketch(np.sort(present))}},
        },
    }


def _sketch(ordered: FloatArray) -> dict[str, Any]:
    level = max(0, math.ceil(math.log2(ordered.size / SKETCH_K))) if ordered.size > SKETCH_K else 0
    step = 2**level
    items = ordered[step // 2 :: step] if step > 1 else ordered
    data: list[list[float]] = [[] for _ in range(level)] + [items.tolist()]
    return {"parameters": {"c": SKETCH_C, "k": float(SKETCH_K)}, "data": data}


def _numeric_constraint(feature: MonitoredColumn, values: FloatArray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    return {
        "name": feature.name,
        "inferred_type": feature.kind.value,
        "completeness": float(present.size / values.size) if values.size else 1.0,
        "num_constraints": {"is_non_negative": bool(present.size and present.min() >= 0)},
    }


def _string_statistics(feature: MonitoredColumn, values: list[str | None]) -> dict[str, Any]:
    counts = Counter(v for v in values if v is not None)
    present = sum(counts.values())
    buckets = [{"value": v, "count": float(c)} for v, c in sorted(counts.items(), key=lambda vc: (-vc[1], vc[0]))]
    return {
        "name": feature.name,
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": present, "num_missing": len(values) - present},
            "distinct_count": float(len(counts)),
            "distribution": {"categorical": {"buckets": buckets}},
        },
    }


def _string_constraint(feature: MonitoredColumn, values: list[str | None]) -> dict[str, Any]:
    distinct = sorted({v for v in values if v is not None})
    present = sum(1 for v in values if v is not None)
    constraint: dict[str, Any] = {
        "name": feature.name,
        "inferred_type": "String",
        "completeness": present / len(values) if values else 1.0,
    }
    if len(distinct) <= MAX_DOMAIN:
        constraint["string_constraints"] = {"domains": distinct}
    return constraint

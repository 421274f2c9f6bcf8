"""Suggest a baseline (``statistics.json`` + ``constraints.json``) from in-memory columns.

Model Monitor's baselining job does this in AWS; this is the local and test equivalent, and what the
``processing`` backend can use where Model Monitor is not available. The files follow the documented formats
(docs/platform-facts.md#baseline-and-report-files):

- numeric features: 10 equal-width KLL buckets between min and max (the built-in container materialises 10),
  and a ``sketch`` that is a fully compacted KLL sketch of the exact sorted data: every ``2**h``-th order
  statistic at level ``h``, the smallest ``h`` that keeps at most ``k = 2048`` items (each item then stands
  for ``2**h`` values, the weight rule baseline.py reads);
- string features: every value and its count, and ``string_constraints.domains`` when there are at most
  ``MAX_DOMAIN`` distinct values ("observed values for small cardinality");
- constraints: observed completeness, ``is_non_negative`` when the minimum is >= 0, and the monitoring config
  defaults (comparison threshold 0.1, method Robust).

It holds the whole baseline data set in memory: meant for training-set-sized samples, not for the job's input.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from monitoring_job.binning import FloatArray, bin_counts, normalise_edges
from monitoring_job.config import FeatureConfig

BUCKETS = 10
SKETCH_K = 2048
SKETCH_C = 0.64
MAX_DOMAIN = 100

Column = FloatArray | Sequence[str | None]


def suggest_baseline(
    columns: Mapping[str, Column], features: Sequence[FeatureConfig]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics, constraints) documents for ``features`` (each must have a column)."""
    stats_features: list[dict[str, Any]] = []
    constraint_features: list[dict[str, Any]] = []
    rows = 0
    for feature in features:
        column = columns[feature.name]
        rows = max(rows, len(column))
        if feature.kind.is_numeric:
            values = np.asarray(column, dtype=np.float64)
            stats_features.append(_numeric_statistics(feature, values))
            constraint_features.append(_numeric_constraint(feature, values))
        else:
            texts = list(column)
            stats_features.append(_string_statistics(feature, texts))
            constraint_features.append(_string_constraint(feature, texts))
    statistics = {"version": 0.0, "dataset": {"item_count": rows}, "features": stats_features}
    constraints = {
        "version": 0.0,
        "features": constraint_features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 0.1,
            "domain_content_threshold": 0.1,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
            },
        },
    }
    return statistics, constraints


def _numeric_statistics(feature: FeatureConfig, values: FloatArray) -> dict[str, Any]:
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


def _numeric_constraint(feature: FeatureConfig, values: FloatArray) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    return {
        "name": feature.name,
        "inferred_type": feature.kind.value,
        "completeness": float(present.size / values.size) if values.size else 1.0,
        "num_constraints": {"is_non_negative": bool(present.size and present.min() >= 0)},
    }


def _string_statistics(feature: FeatureConfig, values: list[str | None]) -> dict[str, Any]:
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


def _string_constraint(feature: FeatureConfig, values: list[str | None]) -> dict[str, Any]:
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

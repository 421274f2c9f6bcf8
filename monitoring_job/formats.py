"""Write the window's ``statistics.json`` and ``constraint_violations.json`` in Model Monitor's formats.

Formats: Developer Guide "Schema for Statistics" and "Schema for Violations"
(docs/aws-facts.md#baseline-and-report-files); schema.py checks them. Differences from the built-in container,
all within the documented schema:

- numeric ``kll.buckets`` are the *baseline's* buckets with the current counts (so the two files line up
  bucket by bucket), plus an underflow bucket ``[current min, baseline min)`` and an overflow bucket
  ``[baseline max, current max]`` when values fall outside; a feature without a numeric baseline gets one
  bucket ``[min, max]``. There is no ``sketch``: the job keeps mergeable bin counts, not a KLL sketch.
- string ``categorical.buckets`` list the counted values, most frequent first; values folded into the
  bounded ``other`` count (stats.py) appear as one bucket whose value is ``OTHER_VALUE``.
- a feature with no present value reports 0 for mean, sum, std_dev, min and max and no buckets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor_stats.baseline import Baseline
from monitor_stats.binning import fold
from monitoring_job.compare import Evaluation
from monitoring_job.config import JobConfig
from monitoring_job.stats import CategoricalAccumulator, NumericAccumulator, WindowStatistics

OTHER_VALUE = "__other__"


def statistics_document(window: WindowStatistics, baseline: Baseline, config: JobConfig) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for feature in config.monitored:
        accumulator = window.features[feature.name]
        if isinstance(accumulator, NumericAccumulator):
            features.append(_numeric(accumulator, baseline))
        else:
            features.append(_categorical(accumulator))
    return {"version": 0.0, "dataset": {"item_count": window.read.records}, "features": features}


def _numeric(acc: NumericAccumulator, baseline: Baseline) -> dict[str, Any]:
    present = acc.present > 0
    return {
        "name": acc.name,
        "inferred_type": acc.kind.value,
        "numerical_statistics": {
            "common": {"num_present": acc.present, "num_missing": acc.missing},
            "mean": acc.mean if present else 0.0,
            "sum": acc.total,
            "std_dev": acc.std_dev,
            "min": acc.minimum if present else 0.0,
            "max": acc.maximum if present else 0.0,
            "distribution": {"kll": {"buckets": _numeric_buckets(acc, baseline) if present else []}},
        },
    }


def _numeric_buckets(acc: NumericAccumulator, baseline: Baseline) -> list[dict[str, float]]:
    numeric = baseline.numeric.get(acc.name)
    if numeric is None or acc.bins is None:
        return [{"lower_bound": acc.minimum, "upper_bound": acc.maximum, "count": float(acc.present)}]
    edges = numeric.bucket_edges
    coarse = fold(acc.bins.astype(np.float64), numeric.grid_to_bucket, edges.size + 1)
    buckets: list[dict[str, float]] = []
    if coarse[0] > 0:
        buckets.append({"lower_bound": acc.minimum, "upper_bound": float(edges[0]), "count": float(coarse[0])})
    buckets.extend(
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(coarse[i + 1])}
        for i in range(edges.size - 1)
    )
    if coarse[-1] > 0:
        buckets.append({"lower_bound": float(edges[-1]), "upper_bound": acc.maximum, "count": float(coarse[-1])})
    return buckets


def _categorical(acc: CategoricalAccumulator) -> dict[str, Any]:
    counts = acc.final_counts()
    ordered = sorted(counts.items(), key=lambda vc: (-vc[1], vc[0]))
    buckets: list[dict[str, Any]] = [{"value": v, "count": c} for v, c in ordered]
    other = acc.final_other
    if other:
        buckets.append({"value": OTHER_VALUE, "count": other})
    return {
        "name": acc.name,
        "inferred_type": "String",
        "string_statistics": {
            "common": {"num_present": acc.present, "num_missing": acc.missing},
            "distinct_count": len(counts) + (1 if other else 0),
            "distribution": {"categorical": {"buckets": buckets}},
        },
    }


def violations_document(evaluation: Evaluation) -> dict[str, Any]:
    return {"violations": [v.to_json() for v in evaluation.violations]}


def drift_document(window: WindowStatistics, evaluation: Evaluation, config: JobConfig) -> dict[str, Any]:
    """Our own detail file: the numbers behind every verdict, for people and for tests."""
    return {
        "model_name": config.model_name,
        "endpoint_name": config.endpoint_name,
        "environment": config.environment,
        "significance_level": config.significance_level,
        "read": window.read.to_json(),
        "drifted_features": evaluation.drifted,
        "violation_count": len(evaluation.violations),
        "features": [drift.to_json() for drift in evaluation.features.values()],
    }

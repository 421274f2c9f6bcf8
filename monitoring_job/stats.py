"""Per-feature statistics that merge exactly across shards.

With ``instance_count > 1`` and ``ShardedByS3Key`` every instance sees a subset of the capture files; each
writes its accumulators (``shard_stats.json``) and a merge step adds them up. Every field is therefore a
*mergeable summary*:

- numeric: present and missing counts, sum, min, max, the count of non-integral and of negative values, the
  mean and the sum of squared deviations ``m2`` merged with Chan, Golub and LeVeque's pairwise update
  ("Updating formulae and a pairwise algorithm for computing sample variances", 1979). A plain sum of squares
  would cancel catastrophically on features like 30-day spend (large mean, small spread); ``m2`` does not.
  Plus counts on the baseline's fine grid of bins (see baseline.py), under/overflow included: the CDF on that
  grid gives both the Model-Monitor-style bucket distance and the Kolmogorov-Smirnov estimate (compare.py).
- categorical: exact counts for every value in the baseline's domain, exact counts for up to
  ``max_new_categories`` unseen values (the most frequent ones survive pruning), the rest summed in
  ``other``. The number of values outside the domain is always exact; only *which* rare unseen values they
  were is bounded. ``distinct_count`` is a lower bound when ``other`` is non-zero.

Counts are integers (exactly equal however the data is split); floating sums agree to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor_stats.baseline import Baseline
from monitor_stats.binning import FloatArray, IntArray, sorted_bin_counts
from monitor_stats.columns import FeatureKind, MonitoredColumn, category_label
from monitoring_job.capture import Batch, ReadCounts
from monitoring_job.config import JobConfig
from monitoring_job.errors import ShardError

SHARD_FORMAT = "mlops-monitoring-shard/1"


@dataclass
class NumericAccumulator:
    name: str
    kind: FeatureKind
    grid: FloatArray | None
    present: int = 0
    missing: int = 0
    total: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    non_integral: int = 0
    negative: int = 0
    bins: IntArray | None = None

    def __post_init__(self) -> None:
        if self.bins is None and self.grid is not None:
            self.bins = np.zeros(self.grid.size + 1, dtype=np.int64)

    def add(self, column: FloatArray) -> None:
        present_mask = ~np.isnan(column)
        values = column if bool(present_mask.all()) else column[present_mask]
        self.missing += column.size - values.size
        if values.size == 0:
            return
        ordered = np.sort(values)
        chunk_sum = float(ordered.sum())
        chunk_mean = chunk_sum / ordered.size
        deviations = ordered - chunk_mean
        # Not np.dot: a BLAS call spins up threads, which costs more than it saves on a busy 2-core box.
        self._combine(ordered.size, chunk_mean, float(np.square(deviations, out=deviations).sum()))
        self.total += chunk_sum
        self.minimum = min(self.minimum, float(ordered[0]))
        self.maximum = max(self.maximum, float(ordered[-1]))
        self.negative += int(np.searchsorted(ordered, 0.0, side="left"))
        if self.kind is FeatureKind.INTEGRAL:
            self.non_integral += int(np.count_nonzero(ordered != np.floor(ordered)))
        if self.grid is not None and self.bins is not None:
            self.bins += sorted_bin_counts(self.grid, ordered)

    def _combine(self, count: int, mean: float, m2: float) -> None:
        if count == 0:
            return
        total = self.present + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.present * count / total
        self.present = total

    def merge(self, other: NumericAccumulator) -> None:
        self._combine(other.present, other.mean, other.m2)
        self.missing += other.missing
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        self.non_integral += other.non_integral
        self.negative += other.negative
        if self.bins is not None and other.bins is not None:
            self.bins += other.bins

    @property
    def std_dev(self) -> float:
        """Population standard deviation (ddof 0)."""
        return math.sqrt(self.m2 / self.present) if self.present else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "missing": self.missing,
            "sum": self.total,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.minimum if self.present else None,
            "max": self.maximum if self.present else None,
            "non_integral": self.non_integral,
            "negative": self.negative,
            "bins": self.bins.tolist() if self.bins is not None else None,
        }

    def load(self, raw: Mapping[str, Any]) -> None:
        self.present, self.missing = int(raw["present"]), int(raw["missing"])
        self.total, self.mean, self.m2 = float(raw["sum"]), float(raw["mean"]), float(raw["m2"])
        self.minimum = float(raw["min"]) if raw["min"] is not None else math.inf
        self.maximum = float(raw["max"]) if raw["max"] is not None else -math.inf
        self.non_integral, self.negative = int(raw["non_integral"]), int(raw["negative"])
        bins = raw["bins"]
        expected = None if self.bins is None else self.bins.size
        if (None if bins is None else len(bins)) != expected:
            raise ShardError(self.name, "histogram does not match the baseline grid")
        if bins is not None:
            self.bins = np.asarray(bins, dtype=np.int64)


@dataclass
class CategoricalAccumulator:
    """Value counts of a categorical column, keyed by label: captured values are decoded with the column's
    vocabulary (``MonitoredColumn.decode``, once per distinct captured text) before they are counted."""

    name: str
    domain: frozenset[str]
    max_new: int
    categories: tuple[str, ...] = ()
    present: int = 0
    missing: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    other: int = 0
    _labels: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def add(self, codes: IntArray, values: list[str]) -> None:
        self.missing += int(np.count_nonzero(codes < 0))
        per_code = np.bincount(codes[codes >= 0], minlength=len(values))
        for code in np.flatnonzero(per_code).tolist():
            self._count(self._label(values[code]), int(per_code[code]))
        self._prune()

    def _label(self, text: str) -> str:
        label = self._labels.get(text)
        if label is None:
            label = self._labels[text] = category_label(text, self.categories)
        return label

    def _count(self, value: str, count: int) -> None:
        self.present += count
        self.counts[value] = self.counts.get(value, 0) + count

    def _prune(self) -> None:
        new = [v for v in self.counts if v not in self.domain]
        if len(new) <= 2 * self.max_new:
            return
        new.sort(key=lambda v: (-self.counts[v], v))
        for value in new[self.max_new :]:
            self.other += self.counts.pop(value)

    def merge(self, other: CategoricalAccumulator) -> None:
        self.missing += other.missing
        self.other += other.other
        self.present += other.other
        for value, count in other.counts.items():
            self._count(value, count)
        self._prune()

    def final_counts(self) -> dict[str, int]:
        """Counts after the final pruning to ``max_new`` unseen values (so shard order cannot matter)."""
        new = sorted((v for v in self.counts if v not in self.domain), key=lambda v: (-self.counts[v], v))
        kept = set(new[: self.max_new])
        return {v: c for v, c in self.counts.items() if v in self.domain or v in kept}

    @property
    def final_other(self) -> int:
        return self.present - sum(self.final_counts().values())

    @property
    def outside_domain(self) -> int:
        return self.present - sum(c for v, c in self.counts.items() if v in self.domain)

    def to_json(self) -> dict[str, Any]:
        return {"present": self.present, "missing": self.missing, "counts": self.counts, "other": self.other}

    def load(self, raw: Mapping[str, Any]) -> None:
        self.present, self.missing, self.other = int(raw["present"]), int(raw["missing"]), int(raw["other"])
        self.counts = {str(k): int(v) for k, v in raw["counts"].items()}


Accumulator = NumericAccumulator | CategoricalAccumulator


@dataclass
class WindowStatistics:
    """Everything one analysis window (or one shard of it) produced."""

    config_fingerprint: str
    baseline_fingerprint: str
    read: ReadCounts
    features: dict[str, Accumulator]

    def add(self, batch: Batch) -> None:
        for name, column in batch.numeric.items():
            accumulator = self.features[name]
            assert isinstance(accumulator, NumericAccumulator)
            accumulator.add(column)
        for name, (codes, values) in batch.categorical.items():
            accumulator = self.features[name]
            assert isinstance(accumulator, CategoricalAccumulator)
            accumulator.add(codes, values)

    def merge(self, other: WindowStatistics, *, where: str) -> None:
        if other.config_fingerprint != self.config_fingerprint:
            raise ShardError(where, "was computed with a different job config (features or types differ)")
        if other.baseline_fingerprint != self.baseline_fingerprint:
            raise ShardError(where, "was computed against a different baseline")
        self.read.merge(other.read)
        for name, accumulator in self.features.items():
            theirs = other.features[name]
            if isinstance(accumulator, NumericAccumulator):
                assert isinstance(theirs, NumericAccumulator)
                accumulator.merge(theirs)
            else:
                assert isinstance(theirs, CategoricalAccumulator)
                accumulator.merge(theirs)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SHARD_FORMAT,
            "config_fingerprint": self.config_fingerprint,
            "baseline_fingerprint": self.baseline_fingerprint,
            "read": self.read.to_json(),
            "features": {name: acc.to_json() for name, acc in self.features.items()},
        }


def new_window(config: JobConfig, baseline: Baseline) -> WindowStatistics:
    """Empty accumulators for every monitored column, binned on the baseline's grid where it has one."""
    features: dict[str, Accumulator] = {f.name: _accumulator(f, config, baseline) for f in config.monitored}
    return WindowStatistics(config.fingerprint(), baseline.fingerprint, ReadCounts(), features)


def _accumulator(feature: MonitoredColumn, config: JobConfig, baseline: Baseline) -> Accumulator:
    if feature.kind.is_numeric:
        numeric = baseline.numeric.get(feature.name)
        return NumericAccumulator(feature.name, feature.kind, numeric.grid if numeric is not None else None)
    domain = baseline.domain_of(feature.name) or frozenset()
    return CategoricalAccumulator(feature.name, domain, config.max_new_categories, feature.categories)


def window_from_json(raw: object, config: JobConfig, baseline: Baseline, *, where: str) -> WindowStatistics:
    if not isinstance(raw, Mapping) or raw.get("format") != SHARD_FORMAT:
        raise ShardError(where, f"is not a {SHARD_FORMAT} file")
    window = new_window(config, baseline)
    if raw.get("config_fingerprint") != window.config_fingerprint:
        raise ShardError(where, "was computed with a different job config (features or types differ)")
    if raw.get("baseline_fingerprint") != window.baseline_fingerprint:
        raise ShardError(where, "was computed against a different baseline")
    try:
        loaded = WindowStatistics(
            str(raw["config_fingerprint"]),
            str(raw["baseline_fingerprint"]),
            ReadCounts.from_json(raw["read"]),
            window.features,
        )
        for name, accumulator in window.features.items():
            accumulator.load(raw["features"][name])
    except ShardError as error:
        raise ShardError(where, str(error)) from error
    except (KeyError, TypeError, ValueError) as error:
        raise ShardError(where, f"is incomplete or malformed ({error!r})") from error
    return loaded

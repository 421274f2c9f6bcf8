"""Accumulators merge exactly: splitting the data any way gives the statistics of one pass."""

from __future__ import annotations

import numpy as np
import pytest

from monitor_stats.columns import FeatureKind
from monitoring_job.errors import ShardError
from monitoring_job.stats import CategoricalAccumulator, NumericAccumulator

GRID = np.linspace(-3.0, 3.0, 25)


def _numeric(values: np.ndarray, splits: list[int]) -> NumericAccumulator:
    result = NumericAccumulator("x", FeatureKind.FRACTIONAL, GRID)
    for part in np.split(values, splits):
        shard = NumericAccumulator("x", FeatureKind.FRACTIONAL, GRID)
        for chunk in np.array_split(part, 3):
            shard.add(chunk)
        result.merge(shard)
    return result


def test_numeric_shards_merge_to_the_single_pass_statistics() -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(1000.0, 2.0, size=5000)  # large mean, small spread: where sums of squares cancel
    values[rng.random(5000) < 0.05] = np.nan

    single = _numeric(values, [])
    merged = _numeric(values, [7, 1200, 4999])

    present = values[~np.isnan(values)]
    assert (merged.present, merged.missing) == (single.present, single.missing) == (present.size, 5000 - present.size)
    assert merged.bins is not None
    assert single.bins is not None
    assert merged.bins.tolist() == single.bins.tolist()
    assert (merged.minimum, merged.maximum) == (present.min(), present.max())
    assert merged.mean == pytest.approx(present.mean(), rel=1e-12)
    assert merged.std_dev == pytest.approx(present.std(), rel=1e-9)
    assert merged.total == pytest.approx(present.sum(), rel=1e-12)


def test_integral_features_count_non_integers_and_negatives() -> None:
    accumulator = NumericAccumulator("n", FeatureKind.INTEGRAL, None)
    accumulator.add(np.array([1.0, 2.5, -3.0, np.nan, 4.0]))

    assert (accumulator.non_integral, accumulator.negative, accumulator.missing) == (1, 1, 1)


def test_numeric_state_round_trips_through_json() -> None:
    accumulator = _numeric(np.random.default_rng(2).normal(size=300), [100])
    copy = NumericAccumulator("x", FeatureKind.FRACTIONAL, GRID)
    copy.load(accumulator.to_json())

    assert copy.to_json() == accumulator.to_json()


def test_a_shard_binned_on_another_grid_is_refused() -> None:
    accumulator = NumericAccumulator("x", FeatureKind.FRACTIONAL, GRID)
    other = NumericAccumulator("x", FeatureKind.FRACTIONAL, GRID[:5])

    with pytest.raises(ShardError, match="grid"):
        accumulator.load(other.to_json())


def _categorical(values: list[str | None], splits: list[int], max_new: int = 3) -> CategoricalAccumulator:
    result = CategoricalAccumulator("c", frozenset({"a", "b"}), max_new)
    for part in np.split(np.array(values, dtype=object), splits):
        shard = CategoricalAccumulator("c", frozenset({"a", "b"}), max_new)
        table = sorted({v for v in part.tolist() if v is not None})
        codes = np.array([-1 if v is None else table.index(v) for v in part.tolist()], dtype=np.int64)
        shard.add(codes, table)
        result.merge(shard)
    return result


def test_categorical_shards_merge_to_the_single_pass_counts() -> None:
    values: list[str | None] = ["a"] * 50 + ["b"] * 30 + ["new1"] * 5 + [None] * 4 + ["new2"] * 2

    single, merged = _categorical(values, []), _categorical(values, [10, 60, 85])

    assert merged.final_counts() == single.final_counts() == {"a": 50, "b": 30, "new1": 5, "new2": 2}
    assert (merged.present, merged.missing, merged.outside_domain) == (87, 4, 7)


def test_unseen_values_are_bounded_but_their_total_stays_exact() -> None:
    values: list[str | None] = [*(["a"] * 10), *(f"id{i}" for i in range(40)), *(["hot"] * 9)]

    accumulator = _categorical(values, [20, 35], max_new=3)

    counts = accumulator.final_counts()
    assert len([v for v in counts if v not in {"a", "b"}]) == 3
    assert counts["hot"] == 9
    assert accumulator.outside_domain == 49
    assert sum(counts.values()) + accumulator.final_other == accumulator.present == 59

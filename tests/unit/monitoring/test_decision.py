"""The drift decision on both sides of its two limits: the distance threshold and the significance level."""

from __future__ import annotations

import numpy as np
import pytest

from monitor_stats.baseline import parse_baseline
from monitor_stats.columns import FeatureKind, MonitoredColumn
from monitor_stats.suggest import suggest_baseline
from monitoring_job.capture import ReadCounts
from monitoring_job.compare import FeatureDrift, decide, evaluate
from monitoring_job.config import parse_job_config
from monitoring_job.stats import new_window

THRESHOLD = 0.1
ALPHA = 1e-3


def verdict(distance: float, p_value: float, threshold: float = THRESHOLD) -> FeatureDrift:
    drift = FeatureDrift(name="x", kind="Fractional", threshold=threshold, distance=distance, p_value=p_value)
    decide(drift, ALPHA)
    return drift


@pytest.mark.parametrize(
    ("distance", "drifted"),
    [(0.0999, False), (0.1, False), (0.1001, True), (0.0501, False), (0.2, True)],
)
def test_the_distance_must_be_above_the_threshold(distance: float, drifted: bool) -> None:
    assert verdict(distance, p_value=1e-12).drifted is drifted


@pytest.mark.parametrize(("p_value", "drifted"), [(0.00099, True), (0.001, False), (0.00101, False), (0.5, False)])
def test_the_difference_must_be_significant(p_value: float, drifted: bool) -> None:
    drift = verdict(0.3, p_value)

    assert drift.drifted is drifted
    assert drift.compared
    assert ("not significant" in drift.note) is not drifted


def test_a_distance_under_the_threshold_needs_no_note() -> None:
    drift = verdict(0.05, p_value=0.5)

    assert (drift.drifted, drift.note) == (False, "")


def test_each_feature_is_judged_against_its_own_threshold() -> None:
    assert verdict(0.12, 1e-12, threshold=0.15).drifted is False
    assert verdict(0.16, 1e-12, threshold=0.15).drifted is True


def categorical_verdict(share_of_a: float, threshold: float = THRESHOLD) -> FeatureDrift:
    """Evaluate a window where value 'a' has ``share_of_a`` against a 50/50 baseline (large samples)."""
    column = MonitoredColumn(name="c", kind=FeatureKind.STRING, drift_threshold=threshold)
    baseline = parse_baseline(*suggest_baseline({"c": ["a"] * 20_000 + ["b"] * 20_000}, [column]))
    config = parse_job_config(
        {
            "model_name": "m",
            "endpoint_name": "m-dev",
            "environment": "dev",
            "features": [{"name": "c", "type": "String", "drift_threshold": threshold}],
            "prediction": None,
        }
    )
    window = new_window(config, baseline)
    n = 20_000
    a = round(share_of_a * n)
    window.read = ReadCounts(files=1, lines=n, records=n)
    accumulator = window.features["c"]
    accumulator.add(np.array([0] * a + [1] * (n - a), dtype=np.int64), ["a", "b"])  # type: ignore[arg-type]
    return evaluate(window, baseline, config).features["c"]


@pytest.mark.parametrize(("share", "drifted"), [(0.595, False), (0.605, True), (0.405, False), (0.395, True)])
def test_a_computed_distance_is_judged_on_both_sides_of_the_threshold(share: float, drifted: bool) -> None:
    drift = categorical_verdict(share)

    assert drift.distance == pytest.approx(abs(share - 0.5))
    assert drift.p_value is not None
    assert drift.p_value < ALPHA  # 20,000 records a side: every gap here is significant
    assert drift.drifted is drifted

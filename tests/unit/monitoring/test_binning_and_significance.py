"""The binning rule shared by baselines and windows, and the statistics behind a drift verdict."""

from __future__ import annotations

import numpy as np
import pytest

from monitor_stats.binning import bin_counts, bin_index, coarse_map, fold, normalise_edges, sorted_bin_counts
from monitoring_job.significance import js_distance, ks_p_value, linf_cdf, max_proportion_p_value, normal_isf


def test_bins_are_half_open_except_the_last_which_holds_the_maximum() -> None:
    edges = np.array([0.0, 1.0, 2.0])
    values = np.array([-0.5, 0.0, 0.5, 1.0, 2.0, 2.5])

    assert bin_index(edges, values).tolist() == [0, 1, 1, 2, 2, 3]


def test_a_constant_baseline_gets_a_bin_of_its_own() -> None:
    edges = normalise_edges([3.0, 3.0])

    assert bin_counts(edges, np.array([2.0, 3.0, 3.0, 4.0])).tolist() == [1.0, 2.0, 1.0]


def test_counting_sorted_values_matches_binning_each_value() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        edges = normalise_edges(np.round(rng.normal(size=int(rng.integers(1, 12))), 1))
        values = np.round(rng.normal(size=int(rng.integers(0, 300))), 1)
        assert sorted_bin_counts(edges, np.sort(values)).tolist() == bin_counts(edges, values).tolist()


def test_fine_bins_fold_into_the_coarse_bins_they_refine() -> None:
    coarse = np.array([0.0, 10.0, 20.0])
    fine = np.array([0.0, 5.0, 10.0, 12.0, 20.0])
    values = np.array([-1.0, 1.0, 6.0, 11.0, 15.0, 20.0, 30.0])

    folded = fold(bin_counts(fine, values), coarse_map(fine, coarse), coarse.size + 1)

    assert folded.tolist() == bin_counts(coarse, values).tolist()


def test_ks_p_value_matches_the_kolmogorov_distribution() -> None:
    # P(sqrt(n_e) D > 1.358) = 0.05 for large samples (the classic 5% critical value).
    n = 1_000_000.0
    statistic = 1.358 / np.sqrt(n / 2)
    assert ks_p_value(float(statistic), n, n) == pytest.approx(0.05, abs=0.002)
    assert ks_p_value(0.0, 100, 100) == 1.0
    assert ks_p_value(0.5, 1000, 1000) < 1e-50


def test_distances_are_zero_for_equal_and_maximal_for_disjoint_distributions() -> None:
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.0, 1.0])

    assert linf_cdf(p, p) == 0.0
    assert js_distance(p, p) == 0.0
    assert linf_cdf(p, q) == 1.0
    assert js_distance(p, q) == pytest.approx(1.0)


def test_category_test_separates_noise_from_a_real_shift() -> None:
    base = np.array([500.0, 300.0, 200.0])

    assert max_proportion_p_value(base, 1000, np.array([51.0, 29.0, 20.0]), 100) > 0.5
    assert max_proportion_p_value(base, 1000, np.array([20.0, 30.0, 50.0]), 100) < 1e-6


def test_normal_quantile() -> None:
    assert normal_isf(0.025) == pytest.approx(1.95996, abs=1e-4)
    assert normal_isf(0.001) == pytest.approx(3.09023, abs=1e-4)

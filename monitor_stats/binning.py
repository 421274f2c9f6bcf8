"""Histogram bins over fixed edges: the one binning rule used for baselines and current data alike.

Edges ``e_0 < e_1 < ... < e_m`` (m >= 1) give ``m + 2`` bins:

- bin 0: underflow, ``x < e_0``;
- bin i (1..m): ``e_(i-1) <= x < e_i``, except that the last one also holds ``x == e_m``;
- bin m + 1: overflow, ``x > e_m``.

That is the convention of Model Monitor's KLL buckets, ``[lower_bound, upper_bound)`` with the last bucket
closed at the baseline maximum (statistics.json, docs/aws-facts.md#baseline-and-report-files); the under/overflow
bins catch current values outside the baseline range. A single edge (a constant baseline feature) is widened by one
ulp so that the value itself has a bin of its own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def normalise_edges(edges: npt.ArrayLike) -> FloatArray:
    """Sorted unique finite edges, at least two of them."""
    array = np.unique(np.asarray(edges, dtype=np.float64))
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError("no finite bin edge")
    if array.size == 1:
        array = np.array([array[0], np.nextafter(array[0], np.inf)])
    return array


def bin_index(edges: FloatArray, values: FloatArray) -> IntArray:
    """Bin of each value (values must not be NaN) under the rule in the module docstring."""
    index = np.searchsorted(edges, values, side="right").astype(np.int64)
    index[values == edges[-1]] = edges.size - 1
    return index


def sorted_bin_counts(edges: FloatArray, ordered: FloatArray) -> IntArray:
    """Counts per bin of already *sorted* values: ``edges.size`` binary searches instead of one per value.

    ``searchsorted`` of many unsorted values into a short edge array costs ~70 ns a value (branch
    mispredictions); sorting first costs ~7 ns a value and yields min and max for free.
    """
    below = np.searchsorted(ordered, edges, side="left").astype(np.int64)  # values < each edge
    at_most_last = int(np.searchsorted(ordered, edges[-1], side="right"))  # values <= the last edge
    cumulative = np.concatenate((below[:-1], [at_most_last, ordered.size]))
    return np.diff(cumulative, prepend=0)


def bin_counts(edges: FloatArray, values: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """Counts (or summed weights) per bin; ``edges.size + 1`` entries."""
    return np.bincount(bin_index(edges, values), weights=weights, minlength=edges.size + 1).astype(np.float64)


def coarse_map(fine_edges: FloatArray, coarse_edges: FloatArray) -> IntArray:
    """For each fine bin, the coarse bin that contains it (coarse edges must be a subset of the fine ones)."""
    lower = fine_edges[:-1]  # the lower edge of fine bins 1..G-1 identifies their coarse bin
    inner = bin_index(coarse_edges, lower)
    return np.concatenate(([0], inner, [coarse_edges.size])).astype(np.int64)


def fold(fine: FloatArray, mapping: IntArray, coarse_bins: int) -> FloatArray:
    """Sum fine-bin counts into coarse bins."""
    return np.bincount(mapping, weights=fine, minlength=coarse_bins).astype(np.float64)

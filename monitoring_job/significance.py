"""Distances between distributions and the tests that tell drift from sampling noise.

- ``linf_cdf``: the L-infinity distance between two CDFs given as per-bin probabilities, i.e. the two-sample
  Kolmogorov-Smirnov statistic evaluated at the bin edges (a lower bound of the exact statistic, equal to it
  when every distinct value has its own edge).
- ``ks_p_value``: the asymptotic Kolmogorov distribution with Stephens' small-sample correction,
  ``Q_KS((sqrt(n_e) + 0.12 + 0.11 / sqrt(n_e)) * D)``, ``n_e = n1 n2 / (n1 + n2)`` (M. A. Stephens, "Use of
  the Kolmogorov-Smirnov, Cramer-von Mises and related statistics without extensive tables", JRSS B 32, 1970).
  Evaluated on a grid the test is conservative, which is the safe side for an alarm.
- ``max_proportion_p_value``: for categorical frequencies, the smallest two-sided p-value of the
  per-category two-proportion z-tests, Bonferroni-corrected by the number of categories.
- ``js_distance``: the Jensen-Shannon distance (square root of the divergence, base 2, in [0, 1]), reported
  alongside for readers used to it; it is not what the threshold applies to.
"""

from __future__ import annotations

import math

import numpy as np

from monitor_stats.binning import FloatArray

_KS_TERMS = 100


def probabilities(counts: FloatArray) -> FloatArray:
    total = float(counts.sum())
    return counts / total if total > 0 else np.zeros_like(counts, dtype=np.float64)


def linf_cdf(p: FloatArray, q: FloatArray) -> float:
    return float(np.max(np.abs(np.cumsum(p) - np.cumsum(q)))) if p.size else 0.0


def linf(p: FloatArray, q: FloatArray) -> float:
    return float(np.max(np.abs(p - q))) if p.size else 0.0


def js_distance(p: FloatArray, q: FloatArray) -> float:
    middle = (p + q) / 2

    def kl(a: FloatArray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / middle[mask])))

    return float(math.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))


def ks_p_value(statistic: float, n1: float, n2: float) -> float:
    if n1 <= 0 or n2 <= 0:
        return 1.0
    effective = math.sqrt(n1 * n2 / (n1 + n2))
    lam = (effective + 0.12 + 0.11 / effective) * statistic
    if lam < 0.2:  # the series converges slowly there and the value is 1 to 15 digits
        return 1.0
    total = sum((1.0 if j % 2 else -1.0) * math.exp(-2.0 * j * j * lam * lam) for j in range(1, _KS_TERMS + 1))
    return min(1.0, max(0.0, 2.0 * total))


def two_sided_normal_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def max_proportion_p_value(counts1: FloatArray, n1: float, counts2: FloatArray, n2: float) -> float:
    if n1 <= 0 or n2 <= 0 or counts1.size == 0:
        return 1.0
    pooled = (counts1 + counts2) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    difference = np.abs(counts1 / n1 - counts2 / n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, difference / spread, 0.0)
    return min(1.0, two_sided_normal_p(float(z.max())) * counts1.size)


def normal_isf(alpha: float) -> float:
    """z with P(Z > z) = alpha for a standard normal Z (bisection on erfc; alpha in (0, 0.5])."""
    low, high = 0.0, 40.0
    for _ in range(100):
        middle = (low + high) / 2
        if 0.5 * math.erfc(middle / math.sqrt(2.0)) > alpha:
            low = middle
        else:
            high = middle
    return (low + high) / 2

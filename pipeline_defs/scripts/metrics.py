"""Binary-classification metrics in numpy, in SageMaker's ModelMetrics layout.

Definitions (they match scikit-learn's, which the tests check):
- ``auc``: area under the ROC curve, ties in the scores counted half (Mann-Whitney U / (P * N));
- ``pr_auc``: area under the precision-recall curve as average precision, the step-wise sum
  ``sum_k (R_k - R_{k-1}) * P_k`` over distinct score thresholds (no interpolation);
- ``accuracy``, ``precision``, ``recall``, ``f1`` at ``score >= threshold``; a ratio whose denominator is
  zero is 0.0;
- ``confusion_matrix[actual][predicted]`` with string keys "0"/"1".

Both classes must be present, otherwise the ranking metrics are undefined and ``MetricsError`` says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
CURVE_POINTS = 101


class MetricsError(ValueError):
    """The labels or scores cannot be evaluated (wrong shape, one class only, non-finite scores)."""


def _check(labels: FloatArray, scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise MetricsError(f"{y.size} labels but {s.size} scores")
    if y.size == 0:
        raise MetricsError("no rows to evaluate")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MetricsError("labels must be 0 or 1")
    if not np.isfinite(s).all():
        raise MetricsError("scores must be finite")
    positives = int(y.sum())
    if positives in (0, y.size):
        only = "positive" if positives else "negative"
        raise MetricsError(f"all {y.size} labels are {only}: ranking metrics need both classes")
    return y, s


def roc_auc(labels: FloatArray, scores: FloatArray) -> float:
    y, s = _check(labels, scores)
    ranks = _average_ranks(s)
    positives = y.sum()
    negatives = y.size - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _threshold_counts(y: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """True and false positives when predicting positive at each distinct score, from the highest down."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s_sorted.size - 1]
    true_positives = np.cumsum(y_sorted)[last_of_tie]
    false_positives = (last_of_tie + 1) - true_positives
    return true_positives, false_positives, s_sorted[last_of_tie]


def average_precision(labels: FloatArray, scores: FloatArray) -> float:
    y, s = _check(labels, scores)
    true_positives, false_positives, _ = _threshold_counts(y, s)
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def confusion(labels: FloatArray, scores: FloatArray, threshold: float) -> tuple[int, int, int, int]:
    """(true negatives, false positives, false negatives, true positives) at ``score >= threshold``."""
    y, s = _check(labels, scores)
    predicted = s >= threshold
    actual = y == 1
    return (
        int(np.sum(~predicted & ~actual)),
        int(np.sum(predicted & ~actual)),
        int(np.sum(~predicted & actual)),
        int(np.sum(predicted & actual)),
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def binary_classification_metrics(labels: FloatArray, scores: FloatArray, threshold: float) -> dict[str, Any]:
    """The ``binary_classification_metrics`` object of a SageMaker ModelMetrics ``evaluation.json``."""
    y, s = _check(labels, scores)
    tn, fp, fn, tp = confusion(y, s, threshold)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    true_positives, false_positives, _ = _threshold_counts(y, s)
    return {
        "auc": {"value": roc_auc(y, s)},
        "pr_auc": {"value": average_precision(y, s)},
        "accuracy": {"value": (tp + tn) / y.size},
        "precision": {"value": precision},
        "recall": {"value": recall},
        "f1": {"value": _ratio(2 * precision * recall, precision + recall)},
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        "receiver_operating_characteristic_curve": _roc_curve(true_positives, false_positives),
        "precision_recall_curve": _pr_curve(true_positives, false_positives),
    }


def _downsample(*series: FloatArray) -> list[list[float]]:
    size = series[0].size
    index = np.unique(np.linspace(0, size - 1, min(size, CURVE_POINTS)).round().astype(int))
    return [[round(float(v), 6) for v in values[index]] for values in series]


def _roc_curve(true_positives: FloatArray, false_positives: FloatArray) -> dict[str, list[float]]:
    tpr = np.r_[0.0, true_positives / true_positives[-1]]
    fpr = np.r_[0.0, false_positives / false_positives[-1]]
    fpr_points, tpr_points = _downsample(fpr, tpr)
    return {"false_positive_rates": fpr_points, "true_positive_rates": tpr_points}


def _pr_curve(true_positives: FloatArray, false_positives: FloatArray) -> dict[str, list[float]]:
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / true_positives[-1]
    precision_points, recall_points = _downsample(precision, recall)
    return {"precisions": precision_points, "recalls": recall_points}


def objective_value(metrics: dict[str, Any], objective: str) -> float:
    """The objective's value from a ``binary_classification_metrics`` object."""
    try:
        return float(metrics[objective]["value"])
    except (KeyError, TypeError):
        raise MetricsError(f"metrics have no value for objective '{objective}'") from None

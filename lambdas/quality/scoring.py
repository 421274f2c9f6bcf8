"""Binary-classification metrics in plain Python (the function ships no numpy).

Definitions follow scikit-learn so production numbers compare with the training pipeline's evaluation:

- ``roc_auc``: area under the ROC curve, ties between a positive and a negative scoring half (the trapezoidal
  ROC area, equal to the Mann-Whitney U statistic over positives x negatives);
- ``average_precision`` (PR-AUC): ``sum_n (R_n - R_{n-1}) * P_n`` over the distinct score thresholds, highest
  first, without interpolation (``sklearn.metrics.average_precision_score``);
- a prediction is positive when its score is AT OR ABOVE the decision threshold (``ModelSpec``).

Metrics that are undefined on the data (AUC with one class only, precision with no positive prediction...)
are ``None``, never a made-up 0 or NaN: the report says ``null`` and no CloudWatch datum is sent for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby


@dataclass(frozen=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.tp + self.tn, self.total)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def is_positive(score: float, threshold: float) -> bool:
    return score >= threshold


def confusion_at(labels: Sequence[int], scores: Sequence[float], threshold: float) -> Confusion:
    tp = fp = tn = fn = 0
    for label, score in zip(labels, scores, strict=True):
        predicted = is_positive(score, threshold)
        if label:
            tp, fn = (tp + 1, fn) if predicted else (tp, fn + 1)
        else:
            fp, tn = (fp + 1, tn) if predicted else (fp, tn + 1)
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """AUC by average ranks (ties get the mean rank); ``None`` unless both classes are present."""
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    pairs = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    rank_sum = 0.0
    position = 0  # ranks handed out so far
    for _, group in groupby(pairs, key=lambda pair: pair[0]):
        members = list(group)
        mean_rank = position + (len(members) + 1) / 2
        rank_sum += mean_rank * sum(1 for _, label in members if label)
        position += len(members)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Average precision (PR-AUC, step-wise); ``None`` when there is no positive label."""
    positives = sum(1 for label in labels if label)
    if not positives:
        return None
    pairs = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0], reverse=True)
    tp = fp = 0
    previous_recall = 0.0
    total = 0.0
    for _, group in groupby(pairs, key=lambda pair: pair[0]):
        for _, label in group:
            if label:
                tp += 1
            else:
                fp += 1
        recall = tp / positives
        total += (recall - previous_recall) * (tp / (tp + fp))
        previous_recall = recall
    return total

"""The stdlib metrics agree with scikit-learn, ties included, and say None where a metric is undefined."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from lambdas.quality.scoring import Confusion, average_precision, confusion_at, roc_auc


def sample(seed: int, n: int, *, decimals: int) -> tuple[list[int], list[float]]:
    rng = random.Random(seed)
    labels = [int(rng.random() < 0.2) for _ in range(n)]
    scores = [round(min(1.0, max(0.0, rng.gauss(0.35 + 0.3 * y, 0.2))), decimals) for y in labels]
    return labels, scores


@pytest.mark.parametrize(("seed", "n", "decimals"), [(1, 50, 1), (2, 400, 2), (3, 1000, 6), (4, 7, 1)])
def test_ranking_metrics_match_sklearn(seed: int, n: int, decimals: int) -> None:
    labels, scores = sample(seed, n, decimals=decimals)
    assert 0 < sum(labels) < n

    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_threshold_metrics_match_sklearn(threshold: float) -> None:
    labels, scores = sample(5, 300, decimals=1)  # decimals=1 puts scores exactly on the threshold
    predicted = [int(s >= threshold) for s in scores]

    confusion = confusion_at(labels, scores, threshold)

    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    assert (confusion.tp, confusion.fp, confusion.tn, confusion.fn) == (tp, fp, tn, fn)
    assert confusion.precision == pytest.approx(precision_score(labels, predicted, zero_division=0))
    assert confusion.recall == pytest.approx(recall_score(labels, predicted))
    assert confusion.f1 == pytest.approx(f1_score(labels, predicted))
    assert confusion.accuracy == pytest.approx(accuracy_score(labels, predicted))


def test_perfect_and_inverted_rankings() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert average_precision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_undefined_metrics_are_none_not_zero() -> None:
    assert roc_auc([1, 1], [0.2, 0.9]) is None
    assert roc_auc([], []) is None
    assert average_precision([0, 0], [0.2, 0.9]) is None
    empty = Confusion()
    assert (empty.precision, empty.recall, empty.f1, empty.accuracy) == (None, None, None, None)
    no_positive_prediction = confusion_at([1, 0], [0.1, 0.2], 0.5)
    assert no_positive_prediction.precision is None
    assert no_positive_prediction.recall == 0.0

"""Evaluation metrics computed with numpy agree with scikit-learn's (a test-only reference)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from pipeline_defs.scripts.metrics import (
    MetricsError,
    average_precision,
    binary_classification_metrics,
    roc_auc,
)


def scored(seed: int, n: int = 400, positive_rate: float = 0.1, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels and informative scores rounded to ``decimals`` places (so there are many ties)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_rate).astype(np.float64)
    labels[:2] = (0.0, 1.0)
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0.0, 1.0).round(decimals)
    return labels, scores


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("decimals", [1, 6])
def test_ranking_metrics_match_scikit_learn(seed: int, decimals: int) -> None:
    labels, scores = scored(seed, decimals=decimals)

    assert roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(labels, scores) == pytest.approx(sk.average_precision_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.9])
def test_threshold_metrics_and_confusion_matrix_match_scikit_learn(seed: int, threshold: float) -> None:
    labels, scores = scored(seed)
    predicted = (scores >= threshold).astype(int)

    result = binary_classification_metrics(labels, scores, threshold)

    (tn, fp), (fn, tp) = sk.confusion_matrix(labels, predicted, labels=[0, 1])
    assert result["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert result["accuracy"]["value"] == pytest.approx(sk.accuracy_score(labels, predicted))
    assert result["precision"]["value"] == pytest.approx(sk.precision_score(labels, predicted, zero_division=0))
    assert result["recall"]["value"] == pytest.approx(sk.recall_score(labels, predicted, zero_division=0))
    assert result["f1"]["value"] == pytest.approx(sk.f1_score(labels, predicted, zero_division=0))
    assert result["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, scores))
    assert result["pr_auc"]["value"] == pytest.approx(sk.average_precision_score(labels, scores))


def test_curves_start_at_the_origin_and_end_at_full_recall() -> None:
    labels, scores = scored(7)
    result = binary_classification_metrics(labels, scores, 0.5)

    roc = result["receiver_operating_characteristic_curve"]
    assert (roc["false_positive_rates"][0], roc["true_positive_rates"][0]) == (0.0, 0.0)
    assert (roc["false_positive_rates"][-1], roc["true_positive_rates"][-1]) == (1.0, 1.0)
    assert result["precision_recall_curve"]["recalls"][-1] == 1.0
    assert len(roc["false_positive_rates"]) <= 101


def test_no_predicted_positives_gives_zero_precision_not_an_error() -> None:
    labels = np.array([0.0, 1.0, 0.0, 1.0])
    result = binary_classification_metrics(labels, np.array([0.1, 0.2, 0.3, 0.4]), threshold=0.9)
    assert (result["precision"]["value"], result["recall"]["value"], result["f1"]["value"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "all 3 labels are negative"),
        ([1, 1], [0.1, 0.2], "all 2 labels are positive"),
        ([0, 1], [0.1], "2 labels but 1 scores"),
        ([0, 2], [0.1, 0.2], "labels must be 0 or 1"),
        ([0, 1], [0.1, float("nan")], "scores must be finite"),
    ],
)
def test_unevaluable_inputs_say_why(labels: list[float], scores: list[float], message: str) -> None:
    with pytest.raises(MetricsError, match=message):
        binary_classification_metrics(np.array(labels, dtype=float), np.array(scores, dtype=float), 0.5)

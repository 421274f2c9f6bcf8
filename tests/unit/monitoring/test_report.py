"""The HTML report speaks to the model's owner: plain words, the next step, readable buckets, full labels."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from monitor_stats.baseline import load_baseline
from monitor_stats.columns import FeatureKind
from monitoring_job.cli import main
from monitoring_job.compare import CheckType
from monitoring_job.report import CHECK_MEANING, SKEWED_SHARE
from monitoring_job.synthetic import SyntheticFeature, build_scenario, fraud_features

LONG_LABELS = ["groceries and household supplies", "restaurants cafes and bars", "online marketplaces", "fuel"]


def _categories(weights: list[float]) -> SyntheticFeature:
    probabilities = np.asarray(weights) / sum(weights)

    def sample(rng: np.random.Generator, n: int) -> list[str]:
        return [LONG_LABELS[i] for i in rng.choice(len(LONG_LABELS), size=n, p=probabilities).tolist()]

    drifted = np.asarray([0.1, 0.1, 0.7, 0.1])
    return SyntheticFeature(
        "merchant_category",
        FeatureKind.STRING,
        sample,
        lambda rng, n: [LONG_LABELS[i] for i in rng.choice(len(LONG_LABELS), size=n, p=drifted).tolist()],
    )


FEATURES = [_categories([0.4, 0.3, 0.2, 0.1]) if f.name == "merchant_category" else f for f in fraud_features()]
ALERTING = {"alarm_prefix": "fraud-detection-prod", "retrain_on_alarms": True, "manual_approval": True}


def run_job(root: Path, *, drifted: frozenset[str]) -> Path:
    scenario = build_scenario(
        root, FEATURES, rows=4000, seed=4, drifted=drifted, config_overrides={"alerting": ALERTING}
    )
    main(scenario.cli_args(root / "out"))
    return root


@pytest.fixture(scope="module")
def drifted_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_job(tmp_path_factory.mktemp("drifted"), drifted=frozenset({"amount", "merchant_category"}))


@pytest.fixture(scope="module")
def drifted(drifted_run: Path) -> str:
    return (drifted_run / "out" / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = run_job(tmp_path_factory.mktemp("clean"), drifted=frozenset())
    return (root / "out" / "report.html").read_text(encoding="utf-8")


def text_of(page: str) -> str:
    """The page's visible words, one space between them."""
    inline = re.sub(r"</?(code|em|strong|small)>", "", page)
    words = re.sub(r"<style>.*?</style>|<[^>]+>", " ", inline, flags=re.S)
    return " ".join(unescape(words).split())


def section(page: str, feature: str) -> str:
    match = re.search(rf"<section><h2>{feature} <small>.*?</section>", page, flags=re.S)
    assert match, feature
    return match.group(0)


def bars(html_part: str) -> list[tuple[str, float, float]]:
    """(label, baseline share, current share) of every bar of a chart."""
    found = re.findall(
        r"<g class='bar' data-label='([^']*)' data-baseline='([^']*)' data-current='([^']*)'>", html_part
    )
    return [(unescape(label), float(base), float(current)) for label, base, current in found]


def test_every_test_and_distance_is_explained_in_plain_words(drifted: str) -> None:
    words = text_of(drifted)

    for phrase in (
        "Distance, for a number (Kolmogorov\u2013Smirnov distance)",
        "the distance is the largest such gap, over all values",
        "Distance, for a category",
        "The largest change in any one category's share",
        "Threshold The largest distance the model's owner accepts",
        "p-value (significance) How likely a distance at least this large would be by chance alone",
        "below the significance level (0.001)",
        "Jensen\u2013Shannon distance",
        "Completeness The share of records in which the column has a value",
    ):
        assert phrase in words, phrase
    assert CHECK_MEANING[CheckType.BASELINE_DRIFT] in words  # the violations say what the check means
    assert "Drifted: the distance" in text_of(section(drifted, "amount"))


def test_a_drift_says_which_alarms_fire_and_what_retraining_will_do(drifted: str, clean: str) -> None:
    words = text_of(drifted)

    assert "2 of 13 monitored columns drifted: amount, merchant_category." in words
    assert "What happens next" in words
    for alarm in ("fraud-detection-prod-drift-amount", "fraud-detection-prod-drift-merchant-category"):
        assert alarm in words
    assert "the combined alarm fraud-detection-prod-drift notifies the model's owner" in words
    assert "The drift alarm also starts the retraining loop" in words
    assert "you approve it (python -m tools.mlops_cli approve)" in words
    assert "Nothing is deployed if the candidate is not better" in words
    assert "What happens next" not in text_of(clean)
    assert "No drift and no violation: all 13 monitored columns look like the baseline." in text_of(clean)


def test_a_skewed_feature_is_drawn_in_baseline_tenths_not_equal_width_buckets(drifted: str, drifted_run: Path) -> None:
    amount = load_baseline(drifted_run / "baseline").numeric["amount"]
    assert float(np.max(amount.bucket_probs)) > SKEWED_SHARE  # equal-width: one bar would hold most of it

    shown = bars(section(drifted, "amount"))

    inside = [base for label, base, _ in shown if not label.startswith(("below", "above"))]
    assert len(inside) == 10
    assert all(0.07 < share < 0.13 for share in inside), inside
    assert "the bars split it into tenths" in text_of(section(drifted, "amount"))


def test_an_even_feature_keeps_the_equal_width_buckets(drifted: str) -> None:
    hours = bars(section(drifted, "hour_of_day"))

    assert [label for label, *_ in hours][:3] == ["0 to 2", "3 to 4", "5 to 6"]
    assert "equal-width buckets" in text_of(section(drifted, "hour_of_day"))


def test_category_labels_are_drawn_in_full(drifted: str) -> None:
    chart = section(drifted, "merchant_category")

    assert {label for label, *_ in bars(chart)} == set(LONG_LABELS)
    for label in LONG_LABELS:
        assert f">{label}</text>" in chart.replace("&#x27;", "'")


def test_the_report_json_matches_the_bars(drifted: str, drifted_run: Path) -> None:
    drift = json.loads((drifted_run / "out" / "drift_report.json").read_text())
    category = next(f for f in drift["features"] if f["name"] == "merchant_category")
    shown = {label: current - base for label, base, current in bars(section(drifted, "merchant_category"))}

    assert max(abs(v) for v in shown.values()) == pytest.approx(category["distance"], abs=1e-6)

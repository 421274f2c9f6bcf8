"""The evaluation over S3: join, per-variant metrics, business metrics, late/duplicate/unmatched/malformed labels."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, replace
from datetime import timedelta

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

from lambdas.quality.logic import EvaluationWindow
from tests.unit.quality.conftest import (
    REPORTS_BUCKET,
    SETTINGS,
    START,
    WINDOW,
    World,
    at,
    capture_line,
    label_line,
)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Case:
    inference_id: str
    score: float
    amount: float
    label: int | None  # None: no label arrives


def traffic(seed: int = 7, n: int = 240) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        label = int(rng.random() < 0.25)
        score = round(min(1.0, max(0.0, rng.gauss(0.3 + 0.35 * label, 0.2))), 2)  # rounded: ties
        amount = round(rng.uniform(1, 900), 2)
        cases.append(Case(f"inf-{i:04d}", score, amount, label if rng.random() < 0.8 else None))
    return cases


def publish(world: World, cases: list[Case], variant: str = "primary") -> None:
    """Captures spread over the window's hour; labels collected over the following 20 hours."""
    captures = [capture_line(c.inference_id, c.score, time=at(i % 60), amount=c.amount) for i, c in enumerate(cases)]
    world.put_captures(variant, START, captures)
    labelled = [c for c in cases if c.label is not None]
    for offset in range(0, 20):
        batch = labelled[offset::20]
        if batch:
            world.put_labels(START + offset * HOUR, [label_line(c.inference_id, c.label) for c in batch])


def test_quality_metrics_match_sklearn_on_the_joined_data(world: World) -> None:
    cases = traffic()
    publish(world, cases)

    report = world.run()

    joined = [c for c in cases if c.label is not None]
    y = [c.label for c in joined]
    scores = [c.score for c in joined]
    predicted = [int(s >= SETTINGS.decision_threshold) for s in scores]
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    quality = report.variant("primary")
    assert (quality.predictions, quality.labelled) == (len(cases), len(joined))
    assert quality.coverage == pytest.approx(len(joined) / len(cases))
    assert quality.auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert quality.pr_auc == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    c = quality.confusion
    assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
    assert c.precision == pytest.approx(precision_score(y, predicted))
    assert c.recall == pytest.approx(recall_score(y, predicted))
    assert c.f1 == pytest.approx(f1_score(y, predicted))
    assert c.accuracy == pytest.approx(accuracy_score(y, predicted))


def test_business_metrics_match_a_direct_computation(world: World) -> None:
    cases = traffic(seed=11)
    publish(world, cases)

    business = world.run().variant("primary").business

    joined = [c for c in cases if c.label is not None]
    flagged = [c for c in joined if c.score >= 0.5]
    assert business["fraud_value_caught"] == pytest.approx(math.fsum(c.amount for c in flagged if c.label))
    assert business["fraud_value_missed"] == pytest.approx(
        math.fsum(c.amount for c in joined if c.label and c.score < 0.5)
    )
    assert business["review_cost"] == pytest.approx(2.5 * sum(1 for c in flagged if not c.label))
    assert business["fraud_value_caught"] > 0
    assert business["fraud_value_missed"] > 0


def test_labels_collected_within_the_lag_are_joined_and_later_or_earlier_ones_are_not(world: World) -> None:
    world.put_captures(
        "primary", START, [capture_line(i, 0.9, time=at(5)) for i in ("on-time", "late", "too-late", "early")]
    )
    world.put_labels(START, [label_line("on-time", 1)])
    world.put_labels(WINDOW.labels_until - HOUR, [label_line("late", 1)])  # last hour inside the lag
    world.put_labels(WINDOW.labels_until, [label_line("too-late", 1)])  # the next evaluation's problem
    world.put_labels(START - HOUR, [label_line("early", 1)])  # collected before the window: not read

    report = world.run()

    quality = report.variant("primary")
    assert (quality.predictions, quality.labelled, quality.confusion.tp) == (4, 2, 2)
    assert (quality.labels_late, report.labels.late) == (1, 1)  # 'late' was collected after the window end
    assert report.labels.distinct == 2
    assert report.labels.unmatched == 0


def test_duplicate_labels_count_once_and_the_latest_collected_wins(world: World) -> None:
    world.put_captures("primary", START, [capture_line(i, 0.8, time=at(1)) for i in ("a", "b", "c")])
    world.put_labels(START, [label_line("a", 0), label_line("b", 1), label_line("b", 1)])
    world.put_labels(START + 3 * HOUR, [label_line("a", 1)])  # relabelled later: this one wins
    world.put_labels(START + 5 * HOUR, [label_line("c", 0)])

    report = world.run()

    quality = report.variant("primary")
    assert quality.labelled == 3  # each id once
    assert (quality.confusion.tp, quality.confusion.fp) == (2, 1)  # a=1 (latest), b=1, c=0
    assert (quality.labels_duplicate, quality.labels_conflicting) == (2, 1)
    assert (report.labels.lines, report.labels.distinct, report.labels.duplicate) == (5, 3, 2)
    assert report.labels.conflicting == 1


def test_within_one_hour_the_later_line_of_the_later_object_wins(world: World) -> None:
    world.put_captures("primary", START, [capture_line("a", 0.8, time=at(1))])
    world.put_labels(START + HOUR, [label_line("a", 1), label_line("a", 0)], name="part-1.jsonl")
    world.put_labels(START + HOUR, [label_line("a", 1)], name="part-0.jsonl")

    quality = world.run().variant("primary")

    assert (quality.labelled, quality.confusion.fp, quality.labels_duplicate) == (1, 1, 2)


def test_labels_without_a_prediction_in_the_window_are_unmatched(world: World) -> None:
    world.put_captures("primary", START, [capture_line("a", 0.2, time=at(1))])
    world.put_labels(
        START + HOUR, [label_line("a", 0), label_line("ghost", 1), label_line("ghost", 1), label_line("x", 0)]
    )

    report = world.run()

    assert (report.labels.matched, report.labels.unmatched) == (1, 2)  # 'ghost' counted once
    assert report.labels.duplicate == 0  # duplicates are counted for matched ids
    assert report.labels.duplicate_lines_total == 1
    assert report.labels.lines == report.labels.distinct + report.labels.duplicate_lines_total


def test_malformed_lines_are_counted_by_reason_and_quarantined_with_source_and_line(world: World) -> None:
    capture_source = world.put_captures(
        "primary",
        START,
        [
            capture_line("a", 0.7, time=at(1)),
            "{not json",
            json.dumps({"eventMetadata": {"inferenceTime": "2026-03-01T10:00:00Z"}, "captureData": {}}),
            capture_line("b", 0.7, time=at(2)).replace('"data": "0.7"', '"data": "NaN"'),
            capture_line("c", 0.7, time=at(2)).replace('"data": "10.0,', '"data": "ten,'),
        ],
    )
    label_source = world.put_labels(
        START, [label_line("a", 1), label_line("b", "maybe"), '["a list"]', "", label_line("", 1)]
    )
    world.put_labels(START + 2 * HOUR, ["{broken"])  # a later window owns this hour: not counted here
    world.put_captures("primary", START + HOUR, ["{broken"])  # slack hour: owned by the next window

    report = world.run()

    assert report.malformed["captures"] == {
        "invalid_json": 1,
        "missing_inference_id": 1,
        "bad_score": 1,
        "bad_value_column": 1,
    }
    assert report.malformed["labels"] == {"bad_label": 1, "not_an_object": 1, "missing_event_id": 1}
    assert report.variant("primary").labelled == 1
    assert (
        report.quarantine["captures"]
        == f"s3://{REPORTS_BUCKET}/quality-quarantine/fraud-detection/2026/03/01/10/captures.jsonl"
    )
    quarantined = [
        json.loads(line)
        for line in world.read(
            REPORTS_BUCKET, "quality-quarantine/fraud-detection/2026/03/01/10/captures.jsonl"
        ).splitlines()
    ]
    assert [(q["source"], q["line"], q["reason"]) for q in quarantined] == [
        (capture_source, 2, "invalid_json"),
        (capture_source, 3, "missing_inference_id"),
        (capture_source, 4, "bad_score"),
        (capture_source, 5, "bad_value_column"),
    ]
    assert quarantined[0]["raw"] == "{not json"
    labels = [
        json.loads(line)
        for line in world.read(
            REPORTS_BUCKET, "quality-quarantine/fraud-detection/2026/03/01/10/labels.jsonl"
        ).splitlines()
    ]
    assert [(q["source"], q["line"]) for q in labels] == [(label_source, 2), (label_source, 3), (label_source, 5)]


def test_a_rerun_over_clean_data_removes_the_stale_quarantine(world: World) -> None:
    world.put_labels(START, ["{broken"])
    assert world.run().quarantine["labels"] is not None
    world.put_labels(START, [label_line("a", 1)])

    report = world.run()

    assert report.quarantine == {"captures": None, "labels": None}
    listed = world.s3.list_objects_v2(Bucket=REPORTS_BUCKET, Prefix="quality-quarantine/").get("Contents", [])
    assert listed == []


def test_each_variant_is_evaluated_on_its_own_predictions(world: World) -> None:
    ids = [f"i{n}" for n in range(6)]
    truth = [1, 1, 1, 0, 0, 0]
    world.put_captures(
        "primary",
        START,
        [capture_line(i, s, time=at(3)) for i, s in zip(ids, [0.9, 0.8, 0.7, 0.3, 0.2, 0.1], strict=True)],
    )
    # The shadow sees the same requests (same inference ids) and ranks them the wrong way round.
    world.put_captures(
        "shadow", START, [capture_line(i, s, time=at(3)) for i, s in zip(ids[:4], [0.1, 0.2, 0.3, 0.8], strict=True)]
    )
    world.put_labels(START + HOUR, [label_line(i, y) for i, y in zip(ids, truth, strict=True)])

    report = world.run(version_of={"primary": "7", "shadow": "8"}.__getitem__)

    primary, shadow = report.variant("primary"), report.variant("shadow")
    assert (primary.model_version, shadow.model_version) == ("7", "8")
    assert (primary.predictions, primary.labelled, primary.auc) == (6, 6, 1.0)
    assert (shadow.predictions, shadow.labelled, shadow.auc) == (4, 4, 0.0)
    assert (shadow.confusion.tp, shadow.confusion.fp) == (0, 1)
    assert report.labels.matched == 6  # a label matching both variants is one matched label


def test_captures_are_kept_by_inference_time_including_those_in_neighbouring_files(world: World) -> None:
    world.put_captures(
        "primary",
        START - HOUR,
        [capture_line("early-file", 0.9, time=at(0.5)), capture_line("before", 0.9, time=at(-5))],
    )
    world.put_captures(
        "primary",
        START + HOUR,
        [capture_line("late-file", 0.9, time=at(59.9)), capture_line("after", 0.9, time=at(61))],
    )
    world.put_labels(START + HOUR, [label_line(i, 1) for i in ("early-file", "late-file", "before", "after")])

    report = world.run()

    assert report.variant("primary").predictions == 2
    assert report.captures.outside_window == 2
    assert (report.labels.matched, report.labels.unmatched) == (2, 2)


def test_event_id_is_the_join_key_when_the_caller_passed_no_inference_id(world: World) -> None:
    world.put_captures("primary", START, [capture_line("evt-1", 0.9, time=at(1), with_inference_id=False)])
    world.put_labels(START, [label_line("evt-1", 1)])

    assert world.run().variant("primary").labelled == 1


def test_a_repeated_capture_of_one_id_counts_once(world: World) -> None:
    world.put_captures("primary", START, [capture_line("a", 0.9, time=at(1)), capture_line("a", 0.1, time=at(2))])
    world.put_labels(START, [label_line("a", 1)])

    quality = world.run().variant("primary")

    assert (quality.predictions, quality.captures_duplicate, quality.confusion.tp) == (1, 1, 1)


def test_an_empty_window_is_a_report_of_zeros_not_an_error(world: World) -> None:
    settings = replace(SETTINGS, expected_variants=("primary",))

    report = world.run(settings=settings)

    primary = report.variant("primary")
    assert (primary.predictions, primary.labelled, primary.coverage) == (0, 0, 0.0)
    assert (primary.auc, primary.pr_auc, primary.confusion.precision) == (None, None, None)
    assert primary.business == {"fraud_value_caught": 0.0, "fraud_value_missed": 0.0, "review_cost": 0.0}
    assert (report.predictions, report.coverage, report.labels.distinct) == (0, 0.0, 0)
    stored = json.loads(world.read(REPORTS_BUCKET, "quality/fraud-detection/2026/03/01/10/report.json"))
    assert stored["label_coverage"] == 0.0
    assert stored["variants"]["primary"]["auc"] is None


def test_a_variant_without_captures_in_the_window_is_not_reported_unless_expected(world: World) -> None:
    world.put_captures("old-shadow", START - 48 * HOUR, [capture_line("x", 0.5, time=at(0, START - 48 * HOUR))])

    assert world.run().variants == ()


def test_the_report_is_written_under_the_window_start(world: World) -> None:
    publish(world, traffic(n=40))
    window = EvaluationWindow(START, START + 3 * HOUR, WINDOW.label_lag)

    report = world.run(window=window)

    assert report.report_uri == f"s3://{REPORTS_BUCKET}/quality/fraud-detection/2026/03/01/10/report.json"
    stored = json.loads(world.read(REPORTS_BUCKET, "quality/fraud-detection/2026/03/01/10/report.json"))
    assert stored["window"] == {
        "start": "2026-03-01T10:00:00Z",
        "end": "2026-03-01T13:00:00Z",
        "label_lag_hours": 24.0,
        "labels_collected_from": "2026-03-01T10:00:00Z",
        "labels_collected_until": "2026-03-02T13:00:00Z",
    }
    assert stored["variants"]["primary"]["predictions"] == 40
    assert stored["business_metric_units"]["fraud_value_missed"] == "USD"


def test_the_quarantine_keeps_a_bounded_number_of_lines_but_counts_them_all(world: World) -> None:
    world.put_labels(START, ["{broken"] * 5)

    report = world.run(max_quarantine_lines=2)

    assert report.malformed["labels"] == {"invalid_json": 5}
    assert report.quarantine_dropped == {"captures": 0, "labels": 3}
    stored = world.read(REPORTS_BUCKET, "quality-quarantine/fraud-detection/2026/03/01/10/labels.jsonl")
    assert len(stored.splitlines()) == 2

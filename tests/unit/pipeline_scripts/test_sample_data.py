"""The sample-data generator: deterministic, rare fraud with the documented relations, and drift knobs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from statistics import mean, median
from typing import Any

import pyarrow.parquet as pq
import pytest

from config import FRAUD_DETECTION
from lambdas.shared.features import CUSTOMER_SPEND_GROUP, FEATURE_GROUPS, TRANSACTION_GROUP
from pipeline_defs import sample_data
from pipeline_defs.sample_data import SampleConfig, SampleData, generate

BASE = SampleConfig(customers=150, days=20, seed=5)


@pytest.fixture(scope="module")
def base() -> SampleData:
    return generate(BASE)


@pytest.fixture(scope="module")
def covariate_drifted() -> SampleData:
    return generate(SampleConfig(customers=150, days=20, seed=5, covariate_drift=1.0))


@pytest.fixture(scope="module")
def concept_drifted() -> SampleData:
    return generate(SampleConfig(customers=150, days=20, seed=5, concept_drift=True))


def by_class(data: SampleData, feature: str) -> tuple[list[Any], list[Any]]:
    """Values of a transaction-group or spend-group feature for frauds and for legitimate transactions."""
    group = TRANSACTION_GROUP if feature in FEATURE_GROUPS[TRANSACTION_GROUP] else CUSTOMER_SPEND_GROUP
    fraud: list[Any] = []
    legit: list[Any] = []
    for record, label in zip(data.records[group], data.labels, strict=True):
        (fraud if label["is_fraud"] else legit).append(record[feature])
    return fraud, legit


def night_share(hours: list[int]) -> float:
    return sum(h < 6 for h in hours) / len(hours)


def test_same_seed_same_data_and_another_seed_other_data(base: SampleData) -> None:
    again = generate(BASE)
    other = generate(SampleConfig(customers=150, days=20, seed=6))

    assert again.events == base.events
    assert again.records == base.records
    assert again.labels == base.labels
    assert other.events != base.events


def test_every_merchant_category_is_one_of_the_specs_categories(base: SampleData) -> None:
    fraud, legit = by_class(base, "merchant_category")
    assert set(fraud + legit) == set(FRAUD_DETECTION.category_vocabularies["merchant_category"])


def test_fraud_is_rare(base: SampleData) -> None:
    assert 0.01 <= base.fraud_rate <= 0.035


def test_fraud_is_nightly_remote_card_not_present_and_large_before_drift(base: SampleData) -> None:
    fraud_hours, legit_hours = by_class(base, "hour_of_day")
    fraud_present, legit_present = by_class(base, "card_present")
    fraud_km, legit_km = by_class(base, "distance_from_home_km")
    fraud_ratio, legit_ratio = by_class(base, "amount_to_avg_30d")

    assert night_share(fraud_hours) > 3 * night_share(legit_hours)
    assert mean(fraud_present) < mean(legit_present) - 0.4
    assert median(fraud_km) > 10 * median(legit_km)
    assert mean(fraud_ratio) > 1.5 * mean(legit_ratio)


def test_concept_drift_moves_fraud_to_card_present_daytime_near_home(
    base: SampleData, concept_drifted: SampleData
) -> None:
    fraud_hours, legit_hours = by_class(concept_drifted, "hour_of_day")
    fraud_present, _ = by_class(concept_drifted, "card_present")
    fraud_km, _ = by_class(concept_drifted, "distance_from_home_km")

    assert mean(fraud_present) > 0.75
    assert median(fraud_km) < 10
    assert night_share(fraud_hours) <= night_share(legit_hours) + 0.05
    # Legitimate behaviour is what it was: only the relation to the label changed.
    assert mean(by_class(concept_drifted, "card_present")[1]) == pytest.approx(
        mean(by_class(base, "card_present")[1]), abs=0.03
    )


def test_covariate_drift_shifts_what_everybody_does(base: SampleData, covariate_drifted: SampleData) -> None:
    def share_online(data: SampleData) -> float:
        return mean(r["merchant_category"] == "online" for r in data.records[TRANSACTION_GROUP])

    def mean_of(data: SampleData, name: str) -> float:
        return mean(float(r[name]) for r in data.records[TRANSACTION_GROUP])

    assert mean_of(covariate_drifted, "amount") > 1.4 * mean_of(base, "amount")
    assert mean_of(covariate_drifted, "card_present") < mean_of(base, "card_present") - 0.2
    assert share_online(covariate_drifted) > 1.5 * share_online(base)


def test_written_files_look_like_the_offline_store(tmp_path: Path) -> None:
    status = sample_data.main(["--out", str(tmp_path), "--customers", "5", "--days", "3", "--seed", "1"])

    assert status == 0
    for group, features in FEATURE_GROUPS.items():
        table = pq.read_table(tmp_path / "feature_groups" / group)
        assert table.column_names == [
            "customer_id",
            "event_time",
            *features,
            "api_invocation_time",
            "write_time",
            "is_deleted",
        ]
        for row in table.to_pylist():
            event_time = datetime.fromisoformat(row["event_time"]).replace(tzinfo=None)
            assert event_time <= row["api_invocation_time"] <= row["write_time"]
            assert row["is_deleted"] is False
    labels = pq.read_table(tmp_path / "labels")
    assert labels.column_names == ["transaction_id", "customer_id", "event_time", "is_fraud"]
    assert labels.num_rows == len((tmp_path / "raw" / "events.jsonl").read_text().splitlines())


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="customers must be at least 1"):
        SampleConfig(customers=0)
    with pytest.raises(SystemExit):
        sample_data.main(["--out", "unused", "--days", "0"])

"""The sample-data generator for any spec: records shaped by the spec's feature types and groups, with drift knobs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from config import ModelSpec
from pipeline_defs.spec_sample_data import SpecSampleConfig, SpecSampleData, generate, write
from tests.support.specs import CHURN, PLAN_UPGRADE

CONFIG = SpecSampleConfig(entities=60, days=20, seed=5)


def column(data: SpecSampleData, name: str) -> list[object]:
    group = next(f.feature_group for f in data.spec.features if f.name == name)
    return [row[name] for row in data.records[group]]


@pytest.mark.parametrize("spec", [CHURN, PLAN_UPGRADE], ids=lambda s: s.name)
def test_every_group_gets_a_record_per_labelled_snapshot_with_the_specs_types(spec: ModelSpec) -> None:
    data = generate(spec, CONFIG)
    python_type = {"Integral": int, "Fractional": float, "String": str}

    assert len(data.labels) > 500
    for group in spec.feature_groups:
        rows = data.records[group.name]
        assert [(r[spec.entity_id], r[spec.event_time]) for r in rows] == [
            (label[spec.entity_id], label[spec.event_time]) for label in data.labels
        ]
        for feature in spec.features_of(group.name):
            assert {type(r[feature.name]) for r in rows} == {python_type[feature.type.value]}, feature.name
    for name, categories in spec.category_vocabularies.items():
        assert set(column(data, name)) == set(categories)
    assert {row[spec.label] for row in data.labels} == {0, 1}


def test_same_seed_same_data_another_seed_other_data() -> None:
    assert generate(CHURN, CONFIG).labels == generate(CHURN, CONFIG).labels
    other = SpecSampleConfig(entities=60, days=20, seed=6)
    assert generate(CHURN, other).labels != generate(CHURN, CONFIG).labels


def test_covariate_drift_moves_the_inputs() -> None:
    base = generate(PLAN_UPGRADE, CONFIG)
    drifted = generate(PLAN_UPGRADE, SpecSampleConfig(entities=60, days=20, seed=5, covariate_drift=1.0))

    assert np.mean(column(drifted, "storage_gb")) > 1.4 * np.mean(column(base, "storage_gb"))
    last = PLAN_UPGRADE.category_vocabularies["plan"][-1]
    share = {name: column(d, "plan").count(last) / len(d.labels) for name, d in (("base", base), ("drift", drifted))}
    assert share["drift"] > share["base"]


def test_concept_drift_reverses_how_the_label_follows_the_inputs() -> None:
    def correlations(data: SpecSampleData) -> list[float]:
        labels = np.array([row[CHURN.label] for row in data.labels], dtype=float)
        numeric = [f.name for f in CHURN.features if not f.is_categorical]
        values = [np.log1p(np.array(column(data, name), dtype=float)) for name in numeric]
        return [float(np.corrcoef(v, labels)[0, 1]) for v in values]

    base = correlations(generate(CHURN, CONFIG))
    drifted = correlations(generate(CHURN, SpecSampleConfig(entities=60, days=20, seed=5, concept_drift=True)))

    assert all(math.copysign(1, b) != math.copysign(1, d) for b, d in zip(base, drifted, strict=True))


def test_written_files_are_what_the_dataset_step_reads(tmp_path: Path) -> None:
    summary = write(generate(PLAN_UPGRADE, CONFIG), tmp_path)

    profile = pq.read_table(tmp_path / "feature_groups" / "profile" / "part-00000.parquet")
    labels = pq.read_table(tmp_path / "labels" / "labels.parquet")
    assert profile.column_names == [
        "account_id",
        "offer_time",
        "plan",
        "region",
        "signup_channel",
        "api_invocation_time",
        "write_time",
        "is_deleted",
    ]
    assert labels.column_names == ["offer_id", "account_id", "offer_time", "accepted"]
    assert summary["labelled_rows"] == labels.num_rows == profile.num_rows
    assert summary["window_start"] == "2024-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("knobs", "message"),
    [({"entities": 0}, "entities"), ({"covariate_drift": 4.0}, "covariate_drift"), ({"positive_rate": 1.0}, "rate")],
)
def test_invalid_configuration_is_refused(knobs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpecSampleConfig(**knobs)  # type: ignore[arg-type]

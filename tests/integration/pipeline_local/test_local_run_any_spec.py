"""The training pipeline run locally for models other than the example: every real step script, from the spec alone.

Two specs from tests/support/specs.py, neither fed by the fraud example's raw events: ``churn`` (one feature group
of numeric and categorical features) and ``plan-upgrade`` (a feature group of categorical features only, a label
id). For each, the spec's sample data goes through dataset, preprocess, train, score, evaluate, baseline and the
gate to a registered first model, and the baseline it writes is the one the drift job, configured for that model
as the CDK configures it, reads without a finding on the model's own test split.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import config.models
from config import ModelSpec
from pipeline_defs import local_run, spec_sample_data
from pipeline_defs.local_run import LocalRunConfig, run
from tests.support.specs import CHURN, PLAN_UPGRADE
from tools import drift_local
from tools.drift_local import Shift

pytestmark = [pytest.mark.integration]

SPECS = (CHURN, PLAN_UPGRADE)
ENTITIES, DAYS = 120, 30


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=SPECS, ids=lambda s: s.name)
def first_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelSpec, Path]:
    spec: ModelSpec = request.param
    out = tmp_path_factory.mktemp(spec.name) / "run"
    run(LocalRunConfig(out=out, spec=spec, customers=ENTITIES, days=DAYS, seed=11))
    return spec, out


def test_every_step_runs_to_a_registered_first_model(first_run: tuple[ModelSpec, Path]) -> None:
    spec, out = first_run
    expected = [
        *(f"sample-data/feature_groups/{g.name}/part-00000.parquet" for g in spec.feature_groups),
        "dataset/dataset.parquet",
        "preprocess/train/train.csv",
        "model/model.tar.gz",
        "scores/scores.csv",
        "evaluation/evaluation.json",
        "baselines/data-quality/statistics.json",
        "baselines/model-quality/constraints.json",
        "decision/decision.json",
    ]
    decision = load(out / "decision" / "decision.json")

    assert [name for name in expected if not (out / name).is_file()] == []
    assert decision["code"] == "registered_no_champion"
    assert decision["inputs"]["objective"] == spec.objective.value
    assert decision["inputs"]["candidate"] >= spec.absolute_threshold
    assert load(out / "evaluation" / "evaluation.json")["model_input"]["feature_names"] == list(spec.feature_names)


def test_the_label_id_is_carried_into_the_dataset(first_run: tuple[ModelSpec, Path]) -> None:
    spec, out = first_run
    columns = pq.read_schema(out / "dataset" / "dataset.parquet").names

    assert [*spec.feature_names] == [c for c in columns if c in spec.feature_names]
    assert (spec.label_id in columns) if spec.label_id else True


def test_categorical_inputs_are_encoded_with_the_specs_categories(first_run: tuple[ModelSpec, Path]) -> None:
    spec, out = first_run
    with (out / "preprocess" / "train" / "train.csv").open() as handle:
        rows = list(csv.reader(handle))

    for name, categories in spec.category_vocabularies.items():
        codes = {int(row[1 + spec.feature_names.index(name)]) for row in rows}
        assert codes == set(range(len(categories))), name  # every category seen, none unknown (-1)
    assert load(out / "preprocess" / "summary.json")["category_vocabularies"] == {
        k: list(v) for k, v in spec.category_vocabularies.items()
    }


def test_the_baseline_counts_categories_by_their_labels(first_run: tuple[ModelSpec, Path]) -> None:
    spec, out = first_run
    statistics = load(out / "baselines" / "data-quality" / "statistics.json")

    for name, categories in spec.category_vocabularies.items():
        feature = next(f for f in statistics["features"] if f["name"] == name)
        buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
        assert feature["inferred_type"] == "String"
        assert {b["value"] for b in buckets} == set(categories)


def test_the_drift_job_reads_the_models_own_baseline_and_finds_its_test_split_clean(
    first_run: tuple[ModelSpec, Path], tmp_path: Path
) -> None:
    spec, out = first_run

    assert drift_local.run(run_dir=out, out=tmp_path, spec=spec, environment="dev", capture=None, shifts=[]) == 0

    found = drift_local.verdicts(tmp_path)
    assert found.compared == [*spec.feature_names, "prediction"]
    assert (found.drifted, found.violations) == ([], 0)


def test_the_drift_job_flags_a_category_moved_in_the_window(first_run: tuple[ModelSpec, Path], tmp_path: Path) -> None:
    spec, out = first_run
    name, categories = next(iter(spec.category_vocabularies.items()))
    rarest = min(
        categories,
        key=lambda c: next(
            b["count"]
            for f in load(out / "baselines" / "data-quality" / "statistics.json")["features"]
            if f["name"] == name
            for b in f["string_statistics"]["distribution"]["categorical"]["buckets"]
            if b["value"] == c
        ),
    )

    shifts = [Shift(name, rarest)]
    assert drift_local.run(run_dir=out, out=tmp_path, spec=spec, environment="dev", capture=None, shifts=shifts) == 0

    # The moved feature drifts, no other input does (the model's scores may follow the moved input).
    assert set(drift_local.verdicts(tmp_path).drifted) - {"prediction"} == {name}


def test_a_challenger_trained_after_concept_drift_replaces_the_pre_drift_champion(tmp_path: Path) -> None:
    champion = tmp_path / "champion"
    run(LocalRunConfig(out=champion, spec=CHURN, customers=ENTITIES, days=DAYS, seed=21))

    run(
        LocalRunConfig(
            out=tmp_path / "challenger",
            spec=CHURN,
            customers=ENTITIES,
            days=DAYS,
            seed=22,
            concept_drift=True,
            champion_model=champion / "model" / "model.tar.gz",
        )
    )

    inputs = load(tmp_path / "challenger" / "evaluation" / "evaluation.json")["decision_inputs"]
    assert inputs["champion_objective"] < 0.5 < inputs["candidate_objective"]  # the old relation is now wrong
    assert load(tmp_path / "challenger" / "decision" / "decision.json")["code"] == "registered_beats_champion"


def test_the_cli_runs_any_model_of_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(config.models, "MODELS", (*config.models.MODELS, PLAN_UPGRADE))

    status = local_run.main(["--model", "plan-upgrade", "--out", str(tmp_path / "run"), "--entities", "80"])

    assert status == 0
    assert load(tmp_path / "run" / "spec.json")["model_name"] == "plan-upgrade"
    assert "local_run: REGISTER (registered_no_champion)" in capsys.readouterr().out


def test_a_users_own_csv_files_train_a_model_and_their_bad_rows_are_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user's files: the spec's generated data written as CSV the way a user would export it, plus bad rows."""
    data = spec_sample_data.generate(CHURN, spec_sample_data.SpecSampleConfig(entities=ENTITIES, days=DAYS, seed=4))
    columns = [CHURN.entity_id, CHURN.event_time, *CHURN.feature_names]
    rows = [{c: r[c] for c in columns} for r in data.records["usage"]]
    rows[10] = {**rows[10], "sessions_7d": "lots"}
    rows[20] = {**rows[20], "plan": ""}
    with (tmp_path / "usage.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    pq.write_table(pq.read_table(_written_labels(data, tmp_path)), tmp_path / "labels.parquet")
    monkeypatch.setattr(config.models, "MODELS", (*config.models.MODELS, CHURN))

    status = local_run.main(
        [
            *("--model", "churn", "--out", str(tmp_path / "run")),
            *("--data", str(tmp_path / "usage.csv"), "--labels", str(tmp_path / "labels.parquet")),
        ]
    )

    assert status == 0
    assert "local_run: REGISTER (registered_no_champion)" in capsys.readouterr().out
    with (tmp_path / "run" / "sample-data" / "rejects" / "data-rejects.csv").open() as handle:
        rejected = [(r["row"], r["column"]) for r in csv.DictReader(handle)]
    assert rejected == [("12", "sessions_7d"), ("22", "plan")]  # line numbers: the header is line 1
    dataset = load(tmp_path / "run" / "dataset" / "summary.json")
    assert dataset["labelled_events"] == len(data.labels)
    # A quarantined row's label takes the entity's latest earlier record, if it has one (point in time).
    assert dataset["dropped_label_only_rows"] <= 2


def _written_labels(data: spec_sample_data.SpecSampleData, directory: Path) -> Path:
    spec_sample_data.write(data, directory / "generated")
    return directory / "generated" / "labels" / "labels.parquet"


def test_a_users_file_without_a_required_column_stops_the_run_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "usage.csv").write_text("subscriber_id,snapshot_time,sessions_7d,plan\n")
    (tmp_path / "labels.csv").write_text("subscriber_id,snapshot_time,churned\n")

    with pytest.raises(local_run.StepFailedError, match="step 'user_data' failed"):
        run(
            LocalRunConfig(
                out=tmp_path / "run", spec=CHURN, data_file=tmp_path / "usage.csv", labels_file=tmp_path / "labels.csv"
            )
        )

    assert "error: user_data: data: 'usage.csv' has no column(s) ['minutes_7d']" in capsys.readouterr().err


def test_the_cli_names_the_known_models_for_an_unknown_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        local_run.main(["--model", "no-such-model"])

    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "--model: unknown model 'no-such-model'; known: " in err
    assert "fraud-detection" in err

"""The whole training pipeline run locally, and the champion/challenger scenario across a concept drift.

- first run, no champion: the threshold alone decides, and every file the pipeline hands on exists;
- a champion trained BEFORE concept drift and a challenger trained AFTER it, both scored on the post-drift
  test set: the challenger is registered;
- a deliberately weak challenger (trained on shuffled labels) is rejected, and decision.json says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline_defs import local_run
from pipeline_defs.local_run import LocalRunConfig, run
from pipeline_defs.scripts import condition, evaluate, score, train_local

# Small enough for seconds on two cores, large enough for ~15+ frauds in each test split.
CUSTOMERS, DAYS = 150, 30


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def champion_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first model of the group, trained before the concept drift."""
    out = tmp_path_factory.mktemp("champion")
    run(LocalRunConfig(out=out, seed=21, customers=CUSTOMERS, days=DAYS))
    return out


@pytest.fixture(scope="module")
def challenger_run(champion_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A candidate trained after fraud moved to card-present, daytime, near-home purchases."""
    out = tmp_path_factory.mktemp("challenger")
    run(
        LocalRunConfig(
            out=out,
            seed=22,
            customers=CUSTOMERS,
            days=DAYS,
            concept_drift=True,
            champion_model=champion_run / "model" / "model.tar.gz",
        )
    )
    return out


def test_first_run_writes_every_pipeline_output(champion_run: Path) -> None:
    expected = [
        "spec.json",
        "sample-data/feature_groups/transaction/part-00000.parquet",
        "sample-data/feature_groups/customer-spend/part-00000.parquet",
        "sample-data/labels/labels.parquet",
        "dataset/dataset.parquet",
        "dataset/query.sql",
        "preprocess/train/train.csv",
        "preprocess/validation/validation.csv",
        "preprocess/test/test.csv",
        "preprocess/baseline/baseline.csv",
        "model/model.tar.gz",
        "scores/scores.csv",
        "evaluation/evaluation.json",
        "evaluation/predictions.csv",
        "baselines/data-quality/statistics.json",
        "baselines/data-quality/constraints.json",
        "baselines/model-quality/statistics.json",
        "baselines/model-quality/constraints.json",
        "decision/decision.json",
    ]
    assert [name for name in expected if not (champion_run / name).is_file()] == []


def test_first_run_without_champion_is_judged_by_the_threshold_alone(champion_run: Path) -> None:
    evaluation = load(champion_run / "evaluation" / "evaluation.json")
    decision = load(champion_run / "decision" / "decision.json")

    assert evaluation["champion"] is None
    assert evaluation["decision_inputs"]["champion_objective"] is None
    assert set(evaluation["binary_classification_metrics"]) >= {
        "auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "confusion_matrix",
    }
    assert decision["register"] is True
    assert decision["code"] == "registered_no_champion"
    assert decision["inputs"]["candidate"] >= decision["inputs"]["absolute_threshold"]


def test_challenger_trained_after_concept_drift_replaces_the_pre_drift_champion(challenger_run: Path) -> None:
    evaluation = load(challenger_run / "evaluation" / "evaluation.json")
    decision = load(challenger_run / "decision" / "decision.json")
    inputs = evaluation["decision_inputs"]

    assert evaluation["champion"] is not None  # both scored on the same post-drift test set
    assert inputs["candidate_objective"] >= inputs["champion_objective"] + inputs["min_improvement"]
    assert decision["register"] is True
    assert decision["code"] == "registered_beats_champion"


def test_weak_challenger_trained_on_shuffled_labels_is_rejected_with_the_reason(
    challenger_run: Path, tmp_path: Path
) -> None:
    shuffled = tmp_path / "shuffled"
    rng = np.random.default_rng(0)
    for split in ("train", "validation"):
        lines = (challenger_run / "preprocess" / split / f"{split}.csv").read_text().splitlines()
        labels = rng.permutation([line.split(",", 1)[0] for line in lines])
        (shuffled / split).mkdir(parents=True)
        (shuffled / split / f"{split}.csv").write_text(
            "".join(f"{label},{line.split(',', 1)[1]}\n" for label, line in zip(labels, lines, strict=True))
        )
    assert (
        train_local.main(
            [
                "--train",
                str(shuffled / "train"),
                "--validation",
                str(shuffled / "validation"),
                "--model-dir",
                str(tmp_path / "weak"),
                "--num-round",
                "50",
            ]
        )
        == 0
    )

    champion = challenger_run / "model" / "model.tar.gz"  # the good post-drift model now serves
    assert (
        score.main(
            [
                "--model",
                str(tmp_path / "weak"),
                "--champion-model",
                str(champion),
                "--test",
                str(challenger_run / "preprocess" / "test"),
                "--output-dir",
                str(tmp_path / "scores"),
            ]
        )
        == 0
    )
    assert (
        evaluate.main(
            [
                "--spec",
                str(challenger_run / "spec.json"),
                "--scores",
                str(tmp_path / "scores"),
                "--output-dir",
                str(tmp_path / "evaluation"),
            ]
        )
        == 0
    )
    assert (
        condition.main(["--evaluation", str(tmp_path / "evaluation"), "--output-dir", str(tmp_path / "decision")]) == 0
    )

    decision = load(tmp_path / "decision" / "decision.json")
    assert decision["register"] is False
    assert decision["code"] == "below_threshold"
    assert "is below the absolute threshold 0.3000" in decision["reason"]
    assert decision["inputs"]["champion"] > decision["inputs"]["candidate"]


def test_local_run_cli_reports_the_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = local_run.main(["--out", str(tmp_path / "run"), "--customers", "60", "--days", "21", "--seed", "3"])

    assert status == 0
    decision = load(tmp_path / "run" / "decision" / "decision.json")
    verdict = "REGISTER" if decision["register"] else "REJECT"
    assert f"local_run: {verdict} ({decision['code']}): {decision['reason']}" in capsys.readouterr().out
    assert load(tmp_path / "run" / "run_summary.json")["decision"] == decision


def test_a_failing_step_stops_the_run_with_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two days of a handful of customers: too few frauds for a validation and a test split with positives.
    status = local_run.main(["--out", str(tmp_path / "run"), "--customers", "3", "--days", "2", "--seed", "1"])

    assert status == 1
    captured = capsys.readouterr()
    assert "local_run: step '" in captured.out
    assert "error: " in captured.err

"""The local XGBoost stand-in, the score step and the evaluation step: SageMaker's artifact layout, same-test-set
scoring, and evaluation from the scores alone."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn import metrics as sk

from config import FRAUD_DETECTION
from pipeline_defs.scripts import evaluate, score, train_local
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.score import load_model
from pipeline_defs.scripts.train_local import Hyperparameters, read_channel, save_model_archive, train

FAST = Hyperparameters(num_round=30, early_stopping_rounds=5, max_depth=3)


def write_channel(directory: Path, seed: int, n: int, features: int = 4, flip: bool = False) -> Path:
    """A separable-ish binary problem as label-first CSV; ``flip`` inverts the relation."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    signal = x[:, 0] + 0.5 * x[:, 1]
    y = ((-signal if flip else signal) + rng.normal(scale=0.5, size=n) > 1.2).astype(int)
    directory.mkdir(parents=True, exist_ok=True)
    lines = [",".join([str(label), *(f"{v:.5f}" for v in row)]) for label, row in zip(y, x, strict=True)]
    (directory / "data.csv").write_text("\n".join(lines) + "\n")
    return directory


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("channels")
    write_channel(root / "train", 1, 600)
    write_channel(root / "validation", 2, 200)
    write_channel(root / "test", 3, 300)
    write_channel(root / "flipped_train", 4, 600, flip=True)
    return root


def test_model_archive_holds_xgboost_model_at_its_root(channels: Path, tmp_path: Path) -> None:
    status = train_local.main(
        [
            "--train",
            str(channels / "train"),
            "--validation",
            str(channels / "validation"),
            "--model-dir",
            str(tmp_path),
            "--num-round",
            "20",
        ]
    )

    assert status == 0
    with tarfile.open(tmp_path / "model.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
    report = json.loads((tmp_path / "training_report.json").read_text())
    assert report["hyperparameters"]["scale_pos_weight"] == pytest.approx(
        (report["train_rows"] - report["train_positives"]) / report["train_positives"]
    )
    assert isinstance(load_model(tmp_path / "model.tar.gz", "model"), xgb.Booster)


def scored(
    channels: Path, tmp_path: Path, candidate: xgb.Booster, champion: xgb.Booster | None = None, test: str = "test"
) -> Path:
    """score.py's CLI on archives of the given boosters; the directory holding scores.csv."""
    save_model_archive(candidate, tmp_path / "candidate")
    arguments = ["--model", str(tmp_path / "candidate"), "--test", str(channels / test)]
    if champion is not None:
        save_model_archive(champion, tmp_path / "champion")
        arguments += ["--champion-model", str(tmp_path / "champion" / "model.tar.gz")]
    assert score.main([*arguments, "--output-dir", str(tmp_path / "scores")]) == 0
    return tmp_path / "scores"


def test_evaluation_scores_candidate_and_champion_on_the_same_test_set(channels: Path, tmp_path: Path) -> None:
    good, _ = train(channels / "train", channels / "validation", FAST)
    bad, _ = train(channels / "flipped_train", channels / "validation", FAST)
    scores = scored(channels, tmp_path, good, bad)

    result, labels, candidate_scores = evaluate.evaluate(
        scores=scores,
        objective="pr_auc",
        decision_threshold=0.5,
        absolute_threshold=0.3,
        min_improvement=0.01,
    )

    features, test_labels = read_channel(channels / "test", "test")
    good_scores = good.predict(xgb.DMatrix(features))
    expected = sk.average_precision_score(test_labels, good_scores)
    assert result["binary_classification_metrics"]["pr_auc"]["value"] == pytest.approx(expected)
    assert result["decision_inputs"]["candidate_objective"] == pytest.approx(expected)
    champion = result["champion"]["binary_classification_metrics"]
    assert result["decision_inputs"]["champion_objective"] == champion["pr_auc"]["value"]
    assert champion["auc"]["value"] == pytest.approx(sk.roc_auc_score(test_labels, bad.predict(xgb.DMatrix(features))))
    assert result["test_set"] == {"rows": 300, "positives": int(test_labels.sum())}
    assert np.array_equal(labels, test_labels)
    # scores.csv carries each probability exactly as the booster predicted it
    assert np.array_equal(candidate_scores, good_scores.astype(np.float64))


def test_no_champion_is_recorded_as_null(channels: Path, tmp_path: Path, spec_file: Path) -> None:
    booster, _ = train(channels / "train", channels / "validation", FAST)
    scores = scored(channels, tmp_path, booster)

    status = evaluate.main(["--spec", str(spec_file), "--scores", str(scores), "--output-dir", str(tmp_path / "eval")])

    assert status == 0
    assert (scores / "scores.csv").read_text().splitlines()[0] == "label,candidate"
    result = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert result["champion"] is None
    assert result["decision_inputs"]["champion_objective"] is None
    assert result["decision_inputs"]["objective"] == "pr_auc"
    # The model's inputs are recorded with its evaluation: the bootstrap checks an artifact against them.
    assert result["model_input"] == {"feature_names": list(FRAUD_DETECTION.feature_names)}
    header = (tmp_path / "eval" / "predictions.csv").read_text().splitlines()[0]
    assert header == "label,probability,prediction"


def test_an_s3_champion_is_fetched_with_boto3(channels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    booster, _ = train(channels / "train", channels / "validation", FAST)
    save_model_archive(booster, tmp_path / "stored")
    fetched: list[tuple[str, str]] = []

    class FakeS3:
        def download_file(self, bucket: str, key: str, target: str) -> None:
            fetched.append((bucket, key))
            Path(target).write_bytes((tmp_path / "stored" / "model.tar.gz").read_bytes())

    boto3 = pytest.importorskip("boto3")
    monkeypatch.setattr(boto3, "client", lambda service, region_name=None: FakeS3())

    local = score.fetch("s3://artifacts/bootstrap/m/model.tar.gz", tmp_path, region="us-east-1")

    assert fetched == [("artifacts", "bootstrap/m/model.tar.gz")]
    assert isinstance(load_model(local, "champion model"), xgb.Booster)


def test_archive_without_xgboost_model_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("model.pkl")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))

    with pytest.raises(StepInputError, match=r"has no 'xgboost-model' \(members: \['model.pkl'\]\)"):
        load_model(archive, "champion model")


def test_champion_with_a_different_feature_count_is_refused(channels: Path, tmp_path: Path) -> None:
    candidate, _ = train(channels / "train", channels / "validation", FAST)
    save_model_archive(candidate, tmp_path / "candidate")
    wide = write_channel(tmp_path / "wide", 5, 300, features=6)
    champion, _ = train(wide, wide, FAST)
    save_model_archive(champion, tmp_path / "champion")

    with pytest.raises(StepInputError, match="champion model expects 6 features but the test set has 4"):
        score.score(
            candidate_model=tmp_path / "candidate",
            champion_model=tmp_path / "champion",
            test_dir=channels / "test",
            output_dir=tmp_path / "out",
        )


def test_test_set_with_one_class_cannot_be_evaluated(channels: Path, tmp_path: Path) -> None:
    booster, _ = train(channels / "train", channels / "validation", FAST)
    (tmp_path / "one-class").mkdir()
    (tmp_path / "one-class" / "test.csv").write_text("0,1,2,3,4\n0,2,3,4,5\n")
    scores = scored(tmp_path, tmp_path, booster, test="one-class")

    with pytest.raises(StepInputError, match="test set: all 2 labels are negative"):
        evaluate.evaluate(
            scores=scores,
            objective="pr_auc",
            decision_threshold=0.5,
            absolute_threshold=0.3,
            min_improvement=0.0,
        )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "must start with the header label,candidate"),
        ("label,probability\n1,0.5\n", "must start with the header label,candidate"),
        ("label,candidate\n1,x\n", "has a row that is not 2 numbers"),
        ("label,candidate,champion\n1,0.5\n", "has a row that is not 3 numbers"),
        ("label,candidate\n", "has no rows"),
    ],
)
def test_unusable_scores_are_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "scores.csv").write_text(content)

    with pytest.raises(StepInputError, match=message):
        evaluate.read_scores(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,a,2\n", "'data.csv' is not numeric CSV"),
        ("1\n0\n", "rows need a label and at least one feature"),
        ("3,1.0,2.0\n", "first column must be the 0/1 label"),
    ],
)
def test_bad_training_channel_is_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "data.csv").write_text(content)
    with pytest.raises(StepInputError, match=message):
        read_channel(tmp_path / "train", "train")


def test_training_cli_names_an_unusable_scale_pos_weight(
    channels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = train_local.main(
        [
            "--train",
            str(channels / "train"),
            "--validation",
            str(channels / "validation"),
            "--model-dir",
            str(tmp_path),
            "--scale-pos-weight",
            "lots",
        ]
    )
    assert status == 2
    assert "--scale-pos-weight 'lots' is neither 'auto' nor a number" in capsys.readouterr().err

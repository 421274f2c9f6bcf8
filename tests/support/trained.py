"""A small training run for any spec, laid out as the local pipeline run lays out its outputs, made by the real
step scripts: train (the local XGBoost stand-in), score and evaluate (which records the model's feature list
in ``evaluation.json``). Enough for the tools that consume a run's artifact, in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from config import ModelSpec
from pipeline_defs.scripts import evaluate, score
from pipeline_defs.scripts.spec import step_spec_from_model_spec
from pipeline_defs.scripts.train_local import Hyperparameters, save_model_archive, train

FAST = Hyperparameters(num_round=20, early_stopping_rounds=5, max_depth=3)


def _channel(directory: Path, *, seed: int, rows: int, features: int) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > 0.8).astype(int)
    directory.mkdir(parents=True, exist_ok=True)
    lines = [",".join([str(label), *(f"{v:.5f}" for v in row)]) for label, row in zip(y, x, strict=True)]
    (directory / "data.csv").write_text("\n".join(lines) + "\n")
    return directory


def train_run(spec: ModelSpec, out: Path) -> Path:
    """``out/model/model.tar.gz`` and ``out/evaluation/evaluation.json`` for a model with ``spec``'s inputs."""
    width = len(spec.feature_names)
    channels = out / "preprocess"
    for seed, name, rows in ((1, "train", 400), (2, "validation", 150), (3, "test", 200)):
        _channel(channels / name, seed=seed, rows=rows, features=width)
    booster, _ = train(channels / "train", channels / "validation", FAST)
    save_model_archive(booster, out / "model")
    score.score(
        candidate_model=out / "model",
        champion_model=None,
        test_dir=channels / "test",
        output_dir=out / "scores",
    )
    spec_file = out / "spec.json"
    spec_file.write_text(step_spec_from_model_spec(spec).to_json(), encoding="utf-8")
    args = ["--spec", str(spec_file), "--scores", str(out / "scores"), "--output-dir", str(out / "evaluation")]
    if evaluate.main(args) != 0:
        raise RuntimeError(f"evaluate failed for {spec.name}")
    return out

"""Monitoring baselines written by the real Baseline step, for the tests of what reads them.

``baseline_step_outputs(root)`` encodes generated transactions exactly as the preprocess step does (the serving
encoder, ``lambdas.shared.features``), trains a small XGBoost model on them, scores the rows with the Score step
(``pipeline_defs.scripts.score``) and runs ``pipeline_defs.scripts.baseline`` over the rows and the scores: the
files it writes are what the pipeline registers and promotion publishes. ``tagged_baselines(root, **tags)`` copies
them (computed once per process) with ``tags`` added to every file, for tests that follow which copy a reader got.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from config import FRAUD_DETECTION
from lambdas.shared.features import format_csv_row, to_model_input
from pipeline_defs.sample_data import SampleConfig, generate
from pipeline_defs.scripts import baseline, score
from pipeline_defs.scripts.spec import step_spec_from_model_spec
from pipeline_defs.scripts.train_local import save_model_archive


def baseline_step_outputs(root: Path, *, customers: int = 30, days: int = 5, seed: int = 1) -> Path:
    """Run the Score and Baseline steps on generated rows and a model trained on them; returns the Baseline step's
    output directory."""
    data = generate(SampleConfig(customers=customers, days=days, seed=seed, history_days=0))
    names = FRAUD_DETECTION.feature_names
    records = [
        {**txn, **spend} for txn, spend in zip(data.records["transaction"], data.records["customer-spend"], strict=True)
    ]
    inputs = np.array([to_model_input(r, names, FRAUD_DETECTION.category_vocabularies) for r in records])
    labels = np.array([row["is_fraud"] for row in data.labels], dtype=np.float64)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "seed": seed, "nthread": 1},
        xgb.DMatrix(inputs, label=labels),
        num_boost_round=10,
    )
    save_model_archive(booster, root / "model")
    (root / "data").mkdir(parents=True, exist_ok=True)
    rows = "".join(format_csv_row(row) + "\n" for row in inputs.tolist())
    (root / "data" / "baseline.csv").write_text(",".join(names) + "\n" + rows, encoding="utf-8")
    (root / "test").mkdir(parents=True, exist_ok=True)
    test_rows = np.column_stack([labels, inputs]).tolist()
    (root / "test" / "test.csv").write_text("".join(format_csv_row(r) + "\n" for r in test_rows), encoding="utf-8")
    scored = score.main(
        [
            "--model",
            str(root / "model"),
            "--test",
            str(root / "test"),
            "--baseline",
            str(root / "data"),
            "--output-dir",
            str(root / "scores"),
        ]
    )
    assert scored == 0, "the Score step failed on generated data"
    (root / "spec.json").write_text(step_spec_from_model_spec(FRAUD_DETECTION).to_json(), encoding="utf-8")
    evaluation = {"binary_classification_metrics": {"pr_auc": {"value": 0.5}}, "test_set": {"rows": len(labels)}}
    (root / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    status = baseline.main(
        [
            "--spec",
            str(root / "spec.json"),
            "--baseline-data",
            str(root / "data"),
            "--scores",
            str(root / "scores"),
            "--evaluation",
            str(root / "evaluation.json"),
            "--output-dir",
            str(root / "baselines"),
        ]
    )
    assert status == 0, "the Baseline step failed on generated data"
    return root / "baselines"


@functools.cache
def _shared_step_outputs() -> Path:
    root = Path(tempfile.mkdtemp(prefix="baseline-step-"))
    atexit.register(shutil.rmtree, root, True)
    return baseline_step_outputs(root)


def tagged_baselines(root: Path, **tags: Any) -> Path:
    """The real Baseline step's outputs copied under ``root``, every JSON file with ``tags`` as extra keys."""
    shutil.copytree(_shared_step_outputs(), root, dirs_exist_ok=True)
    for path in root.rglob("*.json"):
        path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **tags}), encoding="utf-8")
    return root

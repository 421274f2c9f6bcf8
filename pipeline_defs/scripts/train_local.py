"""Local stand-in for SageMaker's built-in XGBoost (1.7-1) training job.

It reads the same channels (``train`` and ``validation``: CSV, label first, no header), trains
``binary:logistic`` with the same hyperparameter names, stops early on the validation ``aucpr``, and
writes ``model.tar.gz`` holding ``xgboost-model`` (XGBoost's binary model format) at the archive root,
as SageMaker packs ``/opt/ml/model``. The score step and the endpoint load exactly this file.

``scale_pos_weight`` defaults to ``auto``: negatives / positives in the training channel, the usual
correction for a rare positive class. With early stopping the saved model keeps only the trees up to the best
validation round, so every consumer of the artifact scores with the model that was selected.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import xgboost as xgb

from pipeline_defs.scripts.common import StepInputError, run_main, write_json
from pipeline_defs.scripts.score import MODEL_FILE, read_channel

__all__ = ["ARCHIVE", "MODEL_FILE", "Hyperparameters", "read_channel", "save_model_archive", "train"]

ARCHIVE = "model.tar.gz"


@dataclass(frozen=True, kw_only=True)
class Hyperparameters:
    max_depth: int = 5
    eta: float = 0.2
    num_round: int = 200
    subsample: float = 0.8
    min_child_weight: float = 1.0
    early_stopping_rounds: int = 20
    scale_pos_weight: float | None = None  # None = negatives / positives of the training data
    eval_metric: str = "aucpr"
    seed: int = 0
    nthread: int = 1  # the local stand-in trains small data: one thread avoids contention and is deterministic


def train(train_dir: Path, validation_dir: Path, params: Hyperparameters) -> tuple[xgb.Booster, dict[str, Any]]:
    features, labels = read_channel(train_dir, "train")
    val_features, val_labels = read_channel(validation_dir, "validation")
    if val_features.shape[1] != features.shape[1]:
        raise StepInputError(f"validation has {val_features.shape[1]} features, train has {features.shape[1]}")
    positives = int(labels.sum())
    if positives in (0, len(labels)):
        raise StepInputError("channel 'train': needs both positive and negative labels")
    scale = params.scale_pos_weight if params.scale_pos_weight is not None else (len(labels) - positives) / positives
    booster_params = {
        "objective": "binary:logistic",
        "max_depth": params.max_depth,
        "eta": params.eta,
        "subsample": params.subsample,
        "min_child_weight": params.min_child_weight,
        "scale_pos_weight": scale,
        "eval_metric": params.eval_metric,
        "seed": params.seed,
        "nthread": params.nthread,
        "tree_method": "hist",
    }
    dtrain = xgb.DMatrix(features, label=labels)
    dvalidation = xgb.DMatrix(val_features, label=val_labels)
    early_stop = xgb.callback.EarlyStopping(rounds=params.early_stopping_rounds, save_best=True)
    history: dict[str, Any] = {}
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.num_round,
        evals=[(dtrain, "train"), (dvalidation, "validation")],
        evals_result=history,
        callbacks=[early_stop],
        verbose_eval=False,
    )
    report = {
        "hyperparameters": {**asdict(params), "scale_pos_weight": scale},
        "train_rows": len(labels),
        "train_positives": positives,
        "best_iteration": int(booster.best_iteration),
        "rounds": len(history["validation"][params.eval_metric]),
        f"validation_{params.eval_metric}": float(max(history["validation"][params.eval_metric])),
    }
    return booster, report


def save_model_archive(booster: xgb.Booster, model_dir: Path) -> Path:
    """Write ``model.tar.gz`` with ``xgboost-model`` at its root into ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        model_file = Path(scratch) / MODEL_FILE
        booster.save_model(str(model_file))
        archive = model_dir / ARCHIVE
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(model_file, arcname=MODEL_FILE)
    return archive


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train_local", description="Local built-in XGBoost stand-in.")
    parser.add_argument("--train", type=Path, default=Path("/opt/ml/input/data/train"))
    parser.add_argument("--validation", type=Path, default=Path("/opt/ml/input/data/validation"))
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/model"))
    defaults = Hyperparameters()
    for name in ("max_depth", "num_round", "early_stopping_rounds", "seed", "nthread"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in ("eta", "subsample", "min_child_weight"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    parser.add_argument("--scale-pos-weight", default="auto", help="a number, or 'auto' = negatives/positives")
    parser.add_argument("--eval-metric", default=defaults.eval_metric)
    return parser


def _run(args: argparse.Namespace) -> None:
    try:
        scale = None if args.scale_pos_weight == "auto" else float(args.scale_pos_weight)
    except ValueError:
        raise StepInputError(f"--scale-pos-weight '{args.scale_pos_weight}' is neither 'auto' nor a number") from None
    params = Hyperparameters(
        max_depth=args.max_depth,
        eta=args.eta,
        num_round=args.num_round,
        subsample=args.subsample,
        min_child_weight=args.min_child_weight,
        early_stopping_rounds=args.early_stopping_rounds,
        scale_pos_weight=scale,
        eval_metric=args.eval_metric,
        seed=args.seed,
        nthread=args.nthread,
    )
    booster, report = train(args.train, args.validation, params)
    archive = save_model_archive(booster, args.model_dir)
    write_json(args.model_dir / "training_report.json", report)
    print(f"train_local: {archive} ({json.dumps({k: report[k] for k in ('best_iteration', 'rounds')})})")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

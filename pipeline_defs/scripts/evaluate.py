"""Evaluation step: score the candidate and the current champion on the same fresh test set.

Inputs: the candidate's ``model.tar.gz`` (``xgboost-model`` inside, as SageMaker writes it), optionally the
champion's (``--champion-model ''`` = no champion: the first model of a group), and ``test.csv`` from the
preprocess step (label first, no header). Output ``evaluation.json`` in the SageMaker ModelMetrics layout::

    {"binary_classification_metrics": {"auc": {"value": ..}, "pr_auc": {..}, "accuracy": {..},
                                       "precision": {..}, "recall": {..}, "f1": {..},
                                       "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
                                       ...curves},
     "champion": {"binary_classification_metrics": {...}} | null,
     "decision_inputs": {"objective": "pr_auc", "decision_threshold": 0.5, "absolute_threshold": 0.3,
                         "min_improvement": 0.01, "candidate_objective": .., "champion_objective": .. | null},
     "test_set": {"rows": n, "positives": p}}

plus ``predictions.csv`` (``label,probability,prediction`` with a header): the candidate's test-set
predictions, the model-quality baseline dataset. Metrics are defined in ``pipeline_defs.scripts.metrics``.
"""

from __future__ import annotations

import argparse
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from pipeline_defs.scripts.common import StepInputError, run_main, single_file, write_json
from pipeline_defs.scripts.metrics import (
    FloatArray,
    MetricsError,
    binary_classification_metrics,
    objective_value,
)
from pipeline_defs.scripts.spec import load_step_spec
from pipeline_defs.scripts.train_local import MODEL_FILE, read_channel

OBJECTIVES = ("auc", "pr_auc", "f1", "precision", "recall", "accuracy")


def load_model(archive: Path, what: str) -> xgb.Booster:
    """The booster inside a SageMaker ``model.tar.gz`` (member ``xgboost-model``)."""
    if archive.is_dir():
        archive = single_file(archive, "*.tar.gz", what)
    if not archive.is_file():
        raise StepInputError(f"{what}: '{archive}' does not exist")
    try:
        with tarfile.open(archive, "r:gz") as tar, tempfile.TemporaryDirectory() as scratch:
            names = [m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()]
            if MODEL_FILE not in names:
                raise StepInputError(f"{what}: '{archive.name}' has no '{MODEL_FILE}' (members: {names})")
            member = next(m for m in tar.getmembers() if m.name.removeprefix("./") == MODEL_FILE)
            tar.extractall(scratch, members=[member], filter="data")
            booster = xgb.Booster()
            booster.load_model(str(Path(scratch) / member.name))
            return booster
    except (tarfile.TarError, OSError) as error:
        raise StepInputError(f"{what}: '{archive}' is not a readable model.tar.gz ({error})") from None
    except xgb.core.XGBoostError as error:
        raise StepInputError(f"{what}: '{MODEL_FILE}' is not an XGBoost model ({error})") from None


def predict(booster: xgb.Booster, features: FloatArray, what: str) -> FloatArray:
    expected = booster.num_features()
    if expected != features.shape[1]:
        raise StepInputError(f"{what} expects {expected} features but the test set has {features.shape[1]}")
    return np.asarray(booster.predict(xgb.DMatrix(features)), dtype=np.float64)


def evaluate(
    *,
    candidate_model: Path,
    champion_model: Path | None,
    test_dir: Path,
    objective: str,
    decision_threshold: float,
    absolute_threshold: float,
    min_improvement: float,
) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    """``evaluation.json`` content, plus the test labels and the candidate's scores."""
    if objective not in OBJECTIVES:
        raise StepInputError(f"objective '{objective}' is not one of {OBJECTIVES}")
    features, labels = read_channel(test_dir, "test")
    candidate_scores = predict(load_model(candidate_model, "candidate model"), features, "candidate model")
    try:
        candidate = binary_classification_metrics(labels, candidate_scores, decision_threshold)
        champion = None
        if champion_model is not None:
            champion_scores = predict(load_model(champion_model, "champion model"), features, "champion model")
            champion = binary_classification_metrics(labels, champion_scores, decision_threshold)
    except MetricsError as error:
        raise StepInputError(f"test set: {error}") from None
    evaluation = {
        "binary_classification_metrics": candidate,
        "champion": {"binary_classification_metrics": champion} if champion is not None else None,
        "decision_inputs": {
            "objective": objective,
            "decision_threshold": decision_threshold,
            "absolute_threshold": absolute_threshold,
            "min_improvement": min_improvement,
            "candidate_objective": objective_value(candidate, objective),
            "champion_objective": objective_value(champion, objective) if champion is not None else None,
        },
        "test_set": {"rows": int(labels.size), "positives": int(labels.sum())},
    }
    return evaluation, labels, candidate_scores


def write_predictions(path: Path, labels: FloatArray, scores: FloatArray, threshold: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("label,probability,prediction\n")
        for label, score in zip(labels, scores, strict=True):
            handle.write(f"{int(label)},{float(score):.6f},{int(score >= threshold)}\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate", description="Candidate vs champion on one test set.")
    parser.add_argument(
        "--spec",
        type=Path,
        default=Path("/opt/ml/processing/input/spec/spec.json"),
        help="spec.json: objective and thresholds (flags below override it)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=Path("/opt/ml/processing/input/model"),
        help="candidate model.tar.gz or its directory",
    )
    parser.add_argument("--champion-model", default="", help="champion model.tar.gz or directory; empty = none")
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/input/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--objective", default="")
    parser.add_argument("--decision-threshold", type=float, default=None)
    parser.add_argument("--absolute-threshold", type=float, default=None)
    parser.add_argument("--min-improvement", type=float, default=None)
    return parser


def _run(args: argparse.Namespace) -> None:
    spec = load_step_spec(args.spec)
    champion = args.champion_model.strip()
    decision_threshold = args.decision_threshold if args.decision_threshold is not None else spec.decision_threshold
    evaluation, labels, scores = evaluate(
        candidate_model=args.model,
        champion_model=Path(champion) if champion else None,
        test_dir=args.test,
        objective=args.objective or spec.objective,
        decision_threshold=decision_threshold,
        absolute_threshold=(
            args.absolute_threshold if args.absolute_threshold is not None else spec.absolute_threshold
        ),
        min_improvement=args.min_improvement if args.min_improvement is not None else spec.min_improvement,
    )
    write_json(args.output_dir / "evaluation.json", evaluation)
    write_predictions(args.output_dir / "predictions.csv", labels, scores, decision_threshold)
    inputs = evaluation["decision_inputs"]
    print(
        f"evaluate: candidate {inputs['objective']} {inputs['candidate_objective']:.4f}, "
        f"champion {inputs['champion_objective']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""Evaluation step: the candidate and the current champion, measured on the same fresh test set.

Input: ``scores.csv`` from the score step (``score.py``: ``label,candidate[,champion]``, one row per test row;
no champion column = no champion, the first model of a group). Models are never loaded here: the score step
reads them on the image that made them, and this step needs only numpy. Output ``evaluation.json`` in the
SageMaker ModelMetrics layout::

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
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline_defs.scripts.base import SCORES_FILE
from pipeline_defs.scripts.common import StepInputError, run_main, single_file, write_json
from pipeline_defs.scripts.metrics import (
    FloatArray,
    MetricsError,
    binary_classification_metrics,
    objective_value,
)
from pipeline_defs.scripts.spec import load_step_spec

OBJECTIVES = ("auc", "pr_auc", "f1", "precision", "recall", "accuracy")


def read_scores(path: Path) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Labels, candidate scores and champion scores (None without a champion column) from ``scores.csv``."""
    path = single_file(path, SCORES_FILE, "scores")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] not in (["label", "candidate"], ["label", "candidate", "champion"]):
        raise StepInputError(f"scores: '{path.name}' must start with the header label,candidate[,champion]")
    try:
        values = np.array([[float(v) for v in row] for row in rows[1:]], dtype=np.float64).reshape(-1, len(rows[0]))
    except ValueError as error:
        raise StepInputError(f"scores: '{path.name}' has a row that is not {len(rows[0])} numbers ({error})") from None
    if not values.size:
        raise StepInputError(f"scores: '{path.name}' has no rows")
    return values[:, 0], values[:, 1], values[:, 2] if values.shape[1] == 3 else None


def evaluate(
    *,
    scores: Path,
    objective: str,
    decision_threshold: float,
    absolute_threshold: float,
    min_improvement: float,
) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    """``evaluation.json`` content, plus the test labels and the candidate's scores."""
    if objective not in OBJECTIVES:
        raise StepInputError(f"objective '{objective}' is not one of {OBJECTIVES}")
    labels, candidate_scores, champion_scores = read_scores(scores)
    try:
        candidate = binary_classification_metrics(labels, candidate_scores, decision_threshold)
        champion = None
        if champion_scores is not None:
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
        default=Path("/opt/ml/processing/code/spec.json"),
        help="spec.json: objective and thresholds (flags below override it)",
    )
    parser.add_argument(
        "--scores",
        type=Path,
        default=Path("/opt/ml/processing/input/scores"),
        help=f"the score step's {SCORES_FILE} or its directory",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--objective", default="")
    parser.add_argument("--decision-threshold", type=float, default=None)
    parser.add_argument("--absolute-threshold", type=float, default=None)
    parser.add_argument("--min-improvement", type=float, default=None)
    return parser


def _run(args: argparse.Namespace) -> None:
    spec = load_step_spec(args.spec)
    decision_threshold = args.decision_threshold if args.decision_threshold is not None else spec.decision_threshold
    evaluation, labels, scores = evaluate(
        scores=args.scores,
        objective=args.objective or spec.objective,
        decision_threshold=decision_threshold,
        absolute_threshold=(
            args.absolute_threshold if args.absolute_threshold is not None else spec.absolute_threshold
        ),
        min_improvement=args.min_improvement if args.min_improvement is not None else spec.min_improvement,
    )
    # The model's inputs, in order: what a consumer of this run's artifact checks it against (the bootstrap).
    evaluation["model_input"] = {"feature_names": list(spec.feature_names)}
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

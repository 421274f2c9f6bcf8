"""Condition step: register the candidate or not, and say why.

The gate (docs/architecture.md#retraining-loop): register only if the candidate's objective is at least the spec's
absolute threshold AND at least the champion's objective plus the minimum improvement; with no champion the threshold
alone decides. Objectives are "greater is better" metrics in [0, 1].

``decision.json`` records the outcome with a machine-readable ``code`` so "not better than the champion"
(``not_better_than_champion``) and "too weak" (``below_threshold``) are told apart from a failed pipeline
(which writes no decision at all)::

    {"register": false, "code": "not_better_than_champion", "reason": "...",
     "inputs": {"objective": "pr_auc", "candidate": 0.71, "champion": 0.70, "absolute_threshold": 0.3,
                "min_improvement": 0.01}}
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeline_defs.scripts.common import StepInputError, read_json, run_main, single_file, write_json

# Floating-point slack so that e.g. 0.3 >= 0.2 + 0.1 holds (in floats 0.2 + 0.1 > 0.3).
_EPSILON = 1e-9


class DecisionCode(StrEnum):
    REGISTERED_FIRST = "registered_no_champion"
    REGISTERED_BETTER = "registered_beats_champion"
    BELOW_THRESHOLD = "below_threshold"
    NOT_BETTER = "not_better_than_champion"


@dataclass(frozen=True)
class Decision:
    register: bool
    reason: str
    code: DecisionCode


def decide(
    candidate: float, champion: float | None, threshold: float, min_improvement: float, *, objective: str = "objective"
) -> Decision:
    """Apply the registration gate to the candidate's and (optional) champion's objective values."""
    for name, value in (
        ("candidate", candidate),
        ("champion", champion),
        ("threshold", threshold),
        ("min_improvement", min_improvement),
    ):
        if value is not None and not math.isfinite(value):
            raise StepInputError(f"{name} {objective} is {value}, expected a finite number")
    if candidate < threshold - _EPSILON:
        return Decision(
            False,
            f"candidate {objective} {candidate:.4f} is below the absolute threshold {threshold:.4f}",
            DecisionCode.BELOW_THRESHOLD,
        )
    if champion is None:
        return Decision(
            True,
            f"no champion; candidate {objective} {candidate:.4f} clears the absolute threshold {threshold:.4f}",
            DecisionCode.REGISTERED_FIRST,
        )
    required = champion + min_improvement
    if candidate < required - _EPSILON:
        return Decision(
            False,
            f"candidate {objective} {candidate:.4f} does not beat the champion's {champion:.4f} "
            f"by the minimum improvement {min_improvement:.4f} (needs {required:.4f})",
            DecisionCode.NOT_BETTER,
        )
    return Decision(
        True,
        f"candidate {objective} {candidate:.4f} beats the champion's {champion:.4f} by "
        f"{candidate - champion:.4f} (minimum {min_improvement:.4f}) and clears the threshold "
        f"{threshold:.4f}",
        DecisionCode.REGISTERED_BETTER,
    )


def decide_from_evaluation(evaluation: dict[str, Any]) -> tuple[Decision, dict[str, Any]]:
    """The decision for an ``evaluation.json`` written by the evaluation step."""
    try:
        inputs = evaluation["decision_inputs"]
        objective = str(inputs["objective"])
        candidate = float(inputs["candidate_objective"])
        champion = None if inputs["champion_objective"] is None else float(inputs["champion_objective"])
        threshold = float(inputs["absolute_threshold"])
        min_improvement = float(inputs["min_improvement"])
    except (KeyError, TypeError, ValueError) as error:
        raise StepInputError(f"evaluation.json: 'decision_inputs' is incomplete or malformed ({error!r})") from None
    decision = decide(candidate, champion, threshold, min_improvement, objective=objective)
    recorded = {
        "objective": objective,
        "candidate": candidate,
        "champion": champion,
        "absolute_threshold": threshold,
        "min_improvement": min_improvement,
    }
    return decision, recorded


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="condition", description="Registration gate.")
    parser.add_argument(
        "--evaluation",
        type=Path,
        default=Path("/opt/ml/processing/input/evaluation"),
        help="evaluation.json or the directory holding it",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output/decision"))
    return parser


def _run(args: argparse.Namespace) -> None:
    evaluation = read_json(single_file(args.evaluation, "evaluation.json", "evaluation"), "evaluation")
    if not isinstance(evaluation, dict):
        raise StepInputError("evaluation.json: expected a JSON object")
    decision, inputs = decide_from_evaluation(evaluation)
    write_json(args.output_dir / "decision.json", {**asdict(decision), "inputs": inputs})
    print(f"condition: {'register' if decision.register else 'do not register'}: {decision.reason}")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, _parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""The registration gate: absolute threshold, champion plus minimum improvement, and recorded reasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline_defs.scripts import condition
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.condition import DecisionCode, decide


def test_first_model_is_judged_by_the_threshold_alone() -> None:
    assert decide(0.31, None, threshold=0.30, min_improvement=0.01).code is DecisionCode.REGISTERED_FIRST
    rejected = decide(0.29, None, threshold=0.30, min_improvement=0.01, objective="pr_auc")
    assert not rejected.register
    assert rejected.code is DecisionCode.BELOW_THRESHOLD
    assert rejected.reason == "candidate pr_auc 0.2900 is below the absolute threshold 0.3000"


def test_candidate_must_beat_the_champion_by_the_minimum_improvement() -> None:
    better = decide(0.75, 0.70, threshold=0.30, min_improvement=0.01)
    marginal = decide(0.705, 0.70, threshold=0.30, min_improvement=0.01, objective="pr_auc")

    assert better.register
    assert better.code is DecisionCode.REGISTERED_BETTER
    assert not marginal.register
    assert marginal.code is DecisionCode.NOT_BETTER
    assert "does not beat the champion's 0.7000 by the minimum improvement 0.0100 (needs 0.7100)" in marginal.reason


def test_an_improvement_of_exactly_the_minimum_counts_despite_float_rounding() -> None:
    assert 0.3 < 0.2 + 0.1  # the float trap the gate must not fall into
    assert decide(0.3, 0.2, threshold=0.3, min_improvement=0.1).register


def test_a_candidate_better_than_the_champion_is_still_held_to_the_threshold() -> None:
    decision = decide(0.25, 0.10, threshold=0.30, min_improvement=0.01)
    assert not decision.register
    assert decision.code is DecisionCode.BELOW_THRESHOLD


def test_non_finite_objective_is_an_input_error() -> None:
    with pytest.raises(StepInputError, match="candidate auc is nan"):
        decide(float("nan"), None, threshold=0.3, min_improvement=0.01, objective="auc")


def evaluation(candidate: float, champion: float | None) -> dict[str, Any]:
    return {
        "decision_inputs": {
            "objective": "pr_auc",
            "candidate_objective": candidate,
            "champion_objective": champion,
            "absolute_threshold": 0.3,
            "min_improvement": 0.01,
            "decision_threshold": 0.5,
        }
    }


def test_cli_writes_decision_json_with_code_reason_and_inputs(tmp_path: Path) -> None:
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation(0.5, 0.6)))

    assert condition.main(["--evaluation", str(tmp_path), "--output-dir", str(tmp_path / "decision")]) == 0

    decision = json.loads((tmp_path / "decision" / "decision.json").read_text())
    assert decision["register"] is False
    assert decision["code"] == "not_better_than_champion"
    assert decision["inputs"] == {
        "objective": "pr_auc",
        "candidate": 0.5,
        "champion": 0.6,
        "absolute_threshold": 0.3,
        "min_improvement": 0.01,
    }
    assert decision["reason"].startswith("candidate pr_auc 0.5000 does not beat the champion's 0.6000")


def test_cli_fails_clearly_on_an_incomplete_evaluation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "evaluation.json").write_text(json.dumps({"binary_classification_metrics": {}}))

    assert condition.main(["--evaluation", str(tmp_path), "--output-dir", str(tmp_path / "decision")]) == 2
    assert "'decision_inputs' is incomplete" in capsys.readouterr().err
    assert not (tmp_path / "decision" / "decision.json").exists()


def test_module_entry_point_runs_as_sagemaker_starts_it(tmp_path: Path) -> None:
    """``python3 -m pipeline_defs.scripts.<step>`` with PYTHONPATH at the code bundle root, from anywhere."""
    root = Path(__file__).resolve().parents[3]
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation(0.2, None)))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline_defs.scripts.condition",
            "--evaluation",
            str(tmp_path),
            "--output-dir",
            str(tmp_path / "decision"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "condition: do not register: candidate pr_auc 0.2000 is below" in result.stdout
    assert json.loads((tmp_path / "decision" / "decision.json").read_text())["code"] == "below_threshold"

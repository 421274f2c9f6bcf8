"""notify: the owner gets a clear subject and body for every decision, from the state machine's state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.retraining.errors import MalformedRequest
from lambdas.retraining.notify import compose, notify, outcome_of, subject
from lambdas.retraining.state import Outcome
from tests.unit.retraining.conftest import World

PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-detection-dev-training/execution/k3x9w2"
CANDIDATE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-dev/8"
CHAMPION = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-dev/7"
BASE: dict[str, Any] = {
    "execution_name": "exec-1",
    "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:fraud-detection-dev-retraining:exec-1",
    "trigger": {"source": "alarm", "detail": {"alarm": "fraud-detection-dev-feature-drift"}},
    "guard": {
        "execution_name": "exec-1",
        "run_id": "retrain-20260301T120000Z-abc123",
        "window_start": "2026-01-30T12:00:00.000Z",
        "window_end": "2026-03-01T12:00:00.000Z",
    },
    "pipeline": {
        "pipeline_execution_arn": PIPELINE_ARN,
        "champion_model_uri": "s3://artifacts/champion/model.tar.gz",
        "champion_package_arn": CHAMPION,
    },
}
REGISTERED = {
    "registered": True,
    "model_package_arn": CANDIDATE,
    "code": "registered_beats_champion",
    "reason": "candidate pr_auc 0.74 >= champion 0.70 + 0.01",
}


def lambda_error(name: str, message: str) -> dict[str, str]:
    """A Lambda error as a Catch puts it in the state."""
    return {"Error": name, "Cause": json.dumps({"errorMessage": message, "errorType": name, "stackTrace": []})}


def composed(world: World, state: dict[str, Any]) -> tuple[Outcome, str, str]:
    message = compose(state, world.notify_env())
    return message.outcome, message.subject, message.body


def test_a_skip_says_which_check_and_why(world: World) -> None:
    error = lambda_error("CooldownActive", "cooldown of fraud-detection/dev active until 2026-03-02T14:00:00Z: ...")
    state = {"execution_name": "exec-2", "trigger": {"source": "schedule"}, "error": error}

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.SKIPPED
    assert title == "[fraud-detection dev] Retraining skipped: cooldown active"
    assert "Why: cooldown of fraud-detection/dev active until 2026-03-02T14:00:00Z" in body
    assert "Nothing was started" in body
    assert "Trigger:" in body
    assert "schedule" in body


def test_not_better_gives_the_decisions_reason(world: World) -> None:
    state = {
        **BASE,
        "registration": {
            "registered": False,
            "model_package_arn": None,
            "code": "not_better_than_champion",
            "reason": "candidate pr_auc 0.705 < champion 0.70 + min improvement 0.01",
        },
    }

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.NOT_BETTER
    assert title == "[fraud-detection dev] Retraining done: candidate not better than the champion"
    assert "Why: candidate pr_auc 0.705 < champion 0.70 + min improvement 0.01" in body
    assert "The champion keeps serving" in body
    assert "Champion:" in body
    assert CHAMPION in body
    assert "s3://artifacts/champion/model.tar.gz" in body
    assert "Training window:" in body
    assert "2026-01-30T12:00:00.000Z .. 2026-03-01T12:00:00.000Z" in body
    assert PIPELINE_ARN in body


def test_a_failed_pipeline_names_the_error_and_its_cause(world: World) -> None:
    cause = f"pipeline execution {PIPELINE_ARN} ended Failed: Step Train failed: AlgorithmError: out of memory"
    state = {**BASE, "error": {"Error": "PipelineFailed", "Cause": cause}}  # a task failure's cause is plain text

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.FAILED
    assert title == "[fraud-detection dev] Retraining failed: PipelineFailed"
    assert "Why: PipelineFailed: pipeline execution" in body
    assert "AlgorithmError: out of memory" in body


def test_a_rejection_quotes_the_reviewer(world: World) -> None:
    cause = f"model package {CANDIDATE} was rejected in the registry: recall on new merchants too low"
    state = {**BASE, "registration": REGISTERED, "error": {"Error": "CandidateRejected", "Cause": cause}}

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.REJECTED
    assert title == "[fraud-detection dev] Retraining done: candidate rejected in the model registry"
    assert "recall on new merchants too low" in body
    assert "Candidate:" in body
    assert CANDIDATE in body


def test_a_promotion_names_the_new_and_previous_versions(world: World) -> None:
    state = {
        **BASE,
        "registration": REGISTERED,
        "deployment": {"strategy": "canary", "endpoint_name": "fraud-detection-dev"},
        "promotion": {
            "outcome": "promoted",
            "model_package_arn": CANDIDATE,
            "previous_model_package_arn": CHAMPION,
            "promoted_at": "2026-03-01T18:00:00.000000Z",
        },
    }

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.PROMOTED
    assert title == "[fraud-detection dev] New model promoted: version 8"
    assert "candidate pr_auc 0.74 >= champion 0.70 + 0.01" in body
    assert "Previous version:" in body
    assert CHAMPION in body
    assert "Strategy:" in body
    assert "canary" in body


def test_a_rollback_says_why_and_what_serves_again(world: World) -> None:
    state = {
        **BASE,
        "registration": REGISTERED,
        "error": lambda_error("CandidateRegressed", "p99 latency 2.1x the champion's"),
        "rollback": {
            "outcome": "rolled_back",
            "restored_model_package_arn": CHAMPION,
            "rolled_back_model_package_arn": CANDIDATE,
        },
    }

    outcome, title, body = composed(world, state)

    assert outcome is Outcome.ROLLED_BACK
    assert title == "[fraud-detection dev] Deployment rolled back: version 8 did not hold up"
    assert "Why: CandidateRegressed: p99 latency 2.1x the champion's" in body
    assert "Serving now:" in body
    assert CHAMPION in body


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"error": lambda_error("BudgetExhausted", "x")}, Outcome.SKIPPED),
        ({"error": {"Error": "States.Timeout", "Cause": ""}}, Outcome.FAILED),
        ({"registration": {"registered": False}}, Outcome.NOT_BETTER),
        ({"registration": REGISTERED, "promotion": {"outcome": "promoted"}}, Outcome.PROMOTED),
        ({"outcome": "rejected", "promotion": {"outcome": "promoted"}}, Outcome.REJECTED),  # explicit wins
        ({}, Outcome.FAILED),
    ],
)
def test_the_outcome_is_inferred_when_not_given(state: dict[str, Any], expected: Outcome) -> None:
    assert outcome_of(state) is expected


def test_an_unknown_outcome_is_malformed() -> None:
    with pytest.raises(MalformedRequest, match="outcome"):
        outcome_of({"outcome": "great"})


def test_subjects_fit_sns() -> None:
    long = subject("[fraud-detection prod] Retraining failed: " + "é\nX" * 80)
    assert len(long) < 100
    assert long.isascii()
    assert "\n" not in long
    assert long.endswith("...")


def test_the_owner_topic_receives_the_message(world: World) -> None:
    state = {**BASE, "registration": {"registered": False, "code": "below_threshold", "reason": "pr_auc 0.2 < 0.3"}}

    result = notify(state, env=world.notify_env(), aws=world.aws)

    [envelope] = world.notifications()
    assert envelope["MessageId"] == result["message_id"]
    assert (
        envelope["Subject"]
        == result["subject"]
        == ("[fraud-detection dev] Retraining done: candidate below the absolute threshold")
    )
    assert "Why: pr_auc 0.2 < 0.3" in envelope["Message"]
    assert envelope["MessageAttributes"]["outcome"]["Value"] == "not_better"
    assert envelope["MessageAttributes"]["environment"]["Value"] == "dev"
    assert result["outcome"] == "not_better"

"""notify: tell the model's owner what the retraining run decided, and why, on every path.

Event  the state machine's state (extra keys ignored; every part optional except as noted)::

    {"outcome"?: "promoted|not_better|rejected|failed|rolled_back|skipped",
     "execution_name"?: str, "execution_arn"?: str,          # $$.Execution.Name / $$.Execution.Id
     "trigger"?: {"source", "detail"?},
     "guard"?: <guard result>, "pipeline"?: <start_pipeline result>, "registration"?: <check_registration result>,
     "approval"?: <approval output>, "deployment"?: <prepare result>, "promotion"?: <promote result>,
     "rollback"?: <rollback result>,
     "error"?: {"Error", "Cause"},                            # what a Catch put in the state
     "reason"?: str}

Without ``outcome`` it is inferred: a guard skip error -> ``skipped``; ``CandidateRejected`` -> ``rejected``;
a ``rollback`` result -> ``rolled_back``; any other error -> ``failed``; ``registration.registered`` false ->
``not_better``; a ``promotion`` result -> ``promoted``; otherwise ``failed`` (the state says no more).

Result ``{message_id, outcome, subject}``. Publishes to ``OWNER_TOPIC_ARN`` a subject (ASCII, < 100
characters, e-mail friendly) and a plain-text body: what happened, why, what happens next, and the details
(run, trigger, window, pipeline execution, champion, candidate, deployment, error), with message attributes
``outcome``, ``model`` and ``environment`` for subscription filters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.retraining import events
from lambdas.retraining.errors import SKIPS, CandidateRejected, MalformedRequest
from lambdas.retraining.runtime import Aws, clients, notify_env
from lambdas.retraining.settings import NotifyEnv
from lambdas.retraining.state import Outcome
from lambdas.shared.observability import logger

SUBJECT_MAX = 99  # SNS: "less than 100 characters"
BODY_MAX = 200_000  # SNS messages are at most 256 KB
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]+")
_SKIP_ERRORS = {cls.__name__: cls.code for cls in SKIPS.values()}
_SKIP_HEADLINES = {
    "paused": "retraining is paused",
    "in_progress": "another run is in progress",
    "cooldown": "cooldown active",
    "budget": "run budget exhausted",
}
_DECISION_HEADLINES = {
    "not_better_than_champion": "candidate not better than the champion",
    "below_threshold": "candidate below the absolute threshold",
}
_NEXT = {
    Outcome.SKIPPED: "Nothing was started and the serving model is unchanged. The trigger is not queued.",
    Outcome.NOT_BETTER: (
        "The champion keeps serving. The candidate's evaluation is in the pipeline execution's "
        "evaluate/evaluation.json; nothing to do unless this repeats."
    ),
    Outcome.FAILED: (
        "The champion keeps serving. Look at the failed step of the pipeline execution (SageMaker Pipelines) "
        "or at the Step Functions execution; a later trigger retries."
    ),
    Outcome.REJECTED: "The champion keeps serving. The rejected version stays in the registry for reference.",
    Outcome.PROMOTED: (
        "The new version serves. The previous version is pinned in the deployment history; the on-call "
        "rollback restores it without a lookup."
    ),
    Outcome.ROLLED_BACK: (
        "The previous version serves again. The candidate stays registered; find out why it regressed before "
        "the next retraining."
    ),
}


@dataclass(frozen=True, kw_only=True)
class Message:
    outcome: Outcome
    subject: str
    body: str


def notify(event: object, *, env: NotifyEnv, aws: Aws) -> dict[str, Any]:
    message = compose(events.as_mapping(event), env)
    response = aws.sns.publish(
        TopicArn=env.owner_topic_arn,
        Subject=message.subject,
        Message=message.body,
        MessageAttributes={
            "outcome": {"DataType": "String", "StringValue": message.outcome.value},
            "model": {"DataType": "String", "StringValue": env.model_name},
            "environment": {"DataType": "String", "StringValue": env.environment},
        },
    )
    result = {"message_id": str(response["MessageId"]), "outcome": message.outcome.value, "subject": message.subject}
    logger.info("owner notified", extra=result)
    return result


def compose(state: Mapping[str, Any], env: NotifyEnv) -> Message:
    outcome = outcome_of(state)
    error = _mapping(state, "error")
    error_name, error_text = events.error_message(dict(error)) if error else ("", "")
    registration = _mapping(state, "registration")
    promotion = _mapping(state, "promotion")
    rollback = _mapping(state, "rollback")
    reason = _text(state, "reason")

    if outcome is Outcome.SKIPPED:
        code = _SKIP_ERRORS.get(error_name, "")
        headline = f"Retraining skipped: {_SKIP_HEADLINES.get(code, 'trigger skipped')}"
        why = error_text or reason or "the guard skipped the trigger"
    elif outcome is Outcome.NOT_BETTER:
        code = _text(registration, "code")
        fallback = f"candidate not registered ({code or 'no code'})"
        headline = f"Retraining done: {_DECISION_HEADLINES.get(code, fallback)}"
        why = _text(registration, "reason") or reason or "the pipeline did not register a candidate"
    elif outcome is Outcome.REJECTED:
        headline = "Retraining done: candidate rejected in the model registry"
        why = error_text or reason or "the candidate was rejected"
    elif outcome is Outcome.PROMOTED:
        package = _text(promotion, "model_package_arn") or _text(registration, "model_package_arn")
        headline = f"New model promoted: {_version(package)}"
        decision = _text(registration, "reason")
        why = f"{package or 'the candidate'} passed the registration gate" + (f" ({decision})" if decision else "")
        why += ", approval and the deployment checks, and now serves."
    elif outcome is Outcome.ROLLED_BACK:
        candidate = _text(rollback, "rolled_back_model_package_arn") or _text(registration, "model_package_arn")
        headline = f"Deployment rolled back: {_version(candidate)} did not hold up"
        why = reason or (f"{error_name}: {error_text}" if error_text else error_name) or "the deployment regressed"
    else:
        headline = f"Retraining failed: {error_name or 'see details'}"
        why = (f"{error_name}: {error_text}" if error_text else error_name) or reason or "no error was passed on"

    lines = [
        f"Retraining of {env.model_name} in {env.environment}: {outcome.value.upper().replace('_', ' ')}.",
        "",
        f"Why: {why}",
        "",
        f"Next: {_NEXT[outcome]}",
        "",
        "Details",
        *_details(state, env, error=f"{error_name}: {error_text}" if error_text else error_name, why=why),
    ]
    body = "\n".join(lines)
    if len(body) > BODY_MAX:
        body = body[: BODY_MAX - 3] + "..."
    return Message(outcome=outcome, subject=subject(f"[{env.model_name} {env.environment}] {headline}"), body=body)


def outcome_of(state: Mapping[str, Any]) -> Outcome:
    explicit = state.get("outcome")
    if explicit is not None:
        try:
            return Outcome(explicit)
        except ValueError:
            allowed = "|".join(o.value for o in Outcome)
            raise MalformedRequest(f"outcome: {explicit!r} is not one of {allowed}") from None
    error = _mapping(state, "error")
    error_name = events.error_message(dict(error))[0] if error else ""
    inferred = (
        (error_name in _SKIP_ERRORS, Outcome.SKIPPED),
        (error_name == CandidateRejected.__name__, Outcome.REJECTED),
        (bool(_mapping(state, "rollback")), Outcome.ROLLED_BACK),
        (bool(error), Outcome.FAILED),
        (_mapping(state, "registration").get("registered") is False, Outcome.NOT_BETTER),
        (bool(_mapping(state, "promotion")), Outcome.PROMOTED),
    )
    return next((outcome for applies, outcome in inferred if applies), Outcome.FAILED)


def subject(text: str) -> str:
    """An SNS subject: printable ASCII, one line, less than 100 characters."""
    cleaned = _NOT_SUBJECT.sub(" ", text).strip()
    return cleaned if len(cleaned) <= SUBJECT_MAX else cleaned[: SUBJECT_MAX - 3].rstrip() + "..."


def _details(state: Mapping[str, Any], env: NotifyEnv, *, error: str, why: str) -> list[str]:
    """The run's facts, one per line; the error only when "Why" does not already say it."""
    guard = _mapping(state, "guard")
    pipeline = _mapping(state, "pipeline")
    registration = _mapping(state, "registration")
    deployment = _mapping(state, "deployment")
    promotion = _mapping(state, "promotion")
    rollback = _mapping(state, "rollback")
    trigger = _mapping(state, "trigger")
    execution = _text(state, "execution_name") or _text(guard, "execution_name")
    champion = _text(pipeline, "champion_package_arn")
    champion_uri = _text(pipeline, "champion_model_uri")
    window = (_text(guard, "window_start"), _text(guard, "window_end"))
    rows = [
        ("Model / environment", f"{env.model_name} / {env.environment}"),
        ("Run", _text(guard, "run_id") or _text(pipeline, "run_id")),
        ("Step Functions execution", _text(state, "execution_arn") or execution),
        ("Trigger", _trigger(trigger)),
        ("Training window", f"{window[0]} .. {window[1]}" if any(window) else ""),
        (
            "Pipeline execution",
            _text(pipeline, "pipeline_execution_arn") or _text(registration, "pipeline_execution_arn"),
        ),
        ("Champion", f"{champion} ({champion_uri})" if champion else ("none (first model)" if pipeline else "")),
        ("Candidate", _text(registration, "model_package_arn") or _text(promotion, "model_package_arn")),
        ("Decision", _text(registration, "code")),
        ("Strategy", _text(deployment, "strategy")),
        ("Endpoint", _text(deployment, "endpoint_name")),
        ("Serving now", _text(promotion, "model_package_arn") or _text(rollback, "restored_model_package_arn")),
        ("Previous version", _text(promotion, "previous_model_package_arn")),
        ("Rolled back", _text(rollback, "rolled_back_model_package_arn")),
        ("Error", error if error and error not in why else ""),
    ]
    width = max(len(label) for label, _ in rows)
    return [f"  {label + ':':<{width + 1}} {value}" for label, value in rows if value]


def _trigger(trigger: Mapping[str, Any]) -> str:
    source = _text(trigger, "source")
    if not source or trigger.get("detail") is None:
        return source
    detail = json.dumps(trigger["detail"], sort_keys=True, separators=(",", ":"), default=str)
    return f"{source} {detail[: events.TRIGGER_DETAIL_MAX]}"


def _version(package_arn: str) -> str:
    """``version 7`` from ``...:model-package/<group>/7``."""
    tail = package_arn.rsplit("/", 1)[-1] if package_arn else ""
    return f"version {tail}" if tail.isdigit() else "the candidate"


def _mapping(state: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = state.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(state: Mapping[str, Any], key: str) -> str:
    value = state.get(key)
    return value.strip() if isinstance(value, str) else ""


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return notify(event, env=notify_env(), aws=clients())

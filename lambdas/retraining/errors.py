"""Typed failures of the retraining loop's functions.

A Lambda function's error type is the exception's class name, so the state machine retries and catches these
BY NAME (Step Functions does not match base classes: list every name). Keep the names stable: they are part
of the contract with the state machine definition.

Skips (``guard``; the trigger is recorded with why, nothing was started): ``RetrainingInProgress``,
``RetrainingPaused``, ``CooldownActive``, ``BudgetExhausted`` -> catch -> notify (outcome ``skipped``) -> release.
Task failures sent by the callbacks (``send_task_failure`` error names, not raised by a function):
``PipelineFailed`` (pipeline wait), ``CandidateRejected`` (manual approval wait).
Retry (transient): ``PipelineNotFinished``, ``CandidateNotFound`` (a few times; registry listing lags).
Catch -> notify (outcome ``failed``): every other class here, and ``MalformedRequest`` and
``ConfigurationError``, shared with the deployment functions (``lambdas/shared/errors.py``).
"""

from __future__ import annotations

from lambdas.shared.errors import ConfigurationError, MalformedRequest

# ConfigurationError and MalformedRequest are the shared classes: every package raises the same two names.
__all__ = [
    "BudgetExhausted",
    "CandidateNotFound",
    "CandidateRejected",
    "ChampionUnresolved",
    "ConfigurationError",
    "CooldownActive",
    "DecisionMissing",
    "MalformedRequest",
    "PackageNotFound",
    "PackageNotInGroup",
    "PipelineFailed",
    "PipelineNotFinished",
    "RetrainingError",
    "RetrainingInProgress",
    "RetrainingPaused",
    "RunNotFound",
    "TriggerSkipped",
]


class RetrainingError(Exception):
    """Base class of every typed retraining failure."""


class TriggerSkipped(RetrainingError):  # noqa: N818
    """Base of the guard's skips: the trigger was recorded as skipped and nothing was started.

    ``until``: when the skip's cause ends (cooldown end, budget slot), fixed-width UTC text; "" when unknown.
    """

    code = "skipped"

    def __init__(self, message: str, *, until: str = "") -> None:
        super().__init__(message)
        self.until = until


class RetrainingInProgress(TriggerSkipped):
    """Another execution holds the model's retraining lock (single flight)."""

    code = "in_progress"


class RetrainingPaused(TriggerSkipped):
    """An operator paused retraining for this model and environment."""

    code = "paused"


class CooldownActive(TriggerSkipped):
    """The last run ended (or started) less than the cooldown ago; the message says when the cooldown ends."""

    code = "cooldown"


class BudgetExhausted(TriggerSkipped):
    """The period's run budget is used up; the message says when the next run is possible."""

    code = "budget"


SKIPS: dict[str, type[TriggerSkipped]] = {
    cls.code: cls for cls in (RetrainingInProgress, RetrainingPaused, CooldownActive, BudgetExhausted)
}


class RunNotFound(RetrainingError):  # noqa: N818
    """No run was recorded for this execution (``guard`` did not let it start)."""


class PipelineNotFinished(RetrainingError):  # noqa: N818
    """The pipeline execution is still running (Executing/Stopping): retry later."""


class PipelineFailed(RetrainingError):  # noqa: N818
    """The pipeline execution Failed, was Stopped or CompletedWithFailures (also the wait's task failure name)."""


class DecisionMissing(RetrainingError):  # noqa: N818
    """A Succeeded execution left no ``decision/decision.json`` (or an unreadable one)."""


class CandidateNotFound(RetrainingError):  # noqa: N818
    """decision.json says "register", but no model package of the group was created by the execution."""


class PackageNotFound(RetrainingError):  # noqa: N818
    """The model package ARN does not exist in the registry."""


class PackageNotInGroup(RetrainingError):  # noqa: N818
    """The model package belongs to another model package group than this model's."""


class CandidateRejected(RetrainingError):  # noqa: N818
    """The candidate was Rejected in the registry (also the manual approval wait's task failure name)."""


class ChampionUnresolved(RetrainingError):  # noqa: N818
    """The serving package exists but names no model artifact, so the candidate cannot be compared with it."""

"""Typed failures of the deployment steps.

A Lambda function's error type is the exception's class name, so the state machine retries and catches these
BY NAME. Keep the names stable: they are part of the contract with the Step Functions definition.

Retry (transient, the step is safe to re-invoke): ``EndpointNotReady``.
Catch -> roll back: ``SilentRollbackDetected``, ``CandidateRegressed``, ``EndpointFailed``.
Catch -> notify (bad input or configuration, nothing was changed): every other class here, and
``MalformedRequest`` and ``ConfigurationError``, shared with the retraining functions (``lambdas/shared/errors.py``).
"""

from __future__ import annotations

from lambdas.shared.errors import ConfigurationError, MalformedRequest

# ConfigurationError and MalformedRequest are the shared classes: every package raises the same two names.
__all__ = [
    "CandidateRegressed",
    "ConfigurationError",
    "DeploymentConflict",
    "DeploymentError",
    "DeploymentNotFound",
    "EndpointFailed",
    "EndpointNotFound",
    "EndpointNotReady",
    "EntityNotFound",
    "InvalidModelResponse",
    "MalformedRequest",
    "PackageNotApproved",
    "PackageNotFound",
    "PackageNotInGroup",
    "PromotionBlocked",
    "RollbackImpossible",
    "SilentRollbackDetected",
    "StepOutOfOrder",
]


class DeploymentError(Exception):
    """Base class of every typed deployment failure."""


class PackageNotFound(DeploymentError):  # noqa: N818
    """The model package ARN does not exist in the registry."""


class PackageNotInGroup(DeploymentError):  # noqa: N818
    """The model package belongs to another model package group than this model's."""


class PackageNotApproved(DeploymentError):  # noqa: N818
    """The model package is not Approved in the registry."""


class EndpointNotFound(DeploymentError):  # noqa: N818
    """The serving endpoint does not exist."""


class EndpointNotReady(DeploymentError):  # noqa: N818
    """The endpoint is Creating/Updating/SystemUpdating/RollingBack (or still converging): retry later."""


class EndpointFailed(DeploymentError):  # noqa: N818
    """The endpoint is Failed, UpdateRollbackFailed, OutOfService or Deleting: a person has to look."""


class SilentRollbackDetected(DeploymentError):  # noqa: N818
    """The endpoint is InService, but on another endpoint config than the one requested (SageMaker rolled back)."""


class DeploymentNotFound(DeploymentError):  # noqa: N818
    """No deployment with this id was prepared (history table)."""


class DeploymentConflict(DeploymentError):  # noqa: N818
    """The request contradicts recorded state: id reused for another package, or the endpoint/champion changed."""


class StepOutOfOrder(DeploymentError):  # noqa: N818
    """The step does not apply to the deployment's current status (e.g. deploy after promote)."""


class CandidateRegressed(DeploymentError):  # noqa: N818
    """The candidate's last comparison failed; the message carries the reasons."""


class PromotionBlocked(DeploymentError):  # noqa: N818
    """A precondition of promotion or of the next A/B step is missing (e.g. no passing comparison yet)."""


class RollbackImpossible(DeploymentError):  # noqa: N818
    """There is nothing recorded to roll back to."""


class EntityNotFound(DeploymentError):  # noqa: N818
    """The online feature store has no record for the entity in one of the feature groups."""


class InvalidModelResponse(DeploymentError):  # noqa: N818
    """The endpoint answered with a body that is not a score."""

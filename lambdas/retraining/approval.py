"""approval: approve the candidate (auto) or wait for a person to decide in the registry (manual).

Event  ``{"model_package_arn": str, "execution_name": str, "run_id"?: str, "task_token"?: "$$.Task.Token",
"now"?: iso}``
Result
- ``APPROVAL_MODE=auto``: ``{model_package_arn, approval_mode: "auto", approved: true, status: "Approved"}``
  after ``UpdateModelPackage(ModelApprovalStatus=Approved, ApprovalDescription=<the run>)``; already Approved:
  nothing changes. A package someone Rejected is not overridden: ``CandidateRejected``. With a ``task_token``
  (the same ``.waitForTaskToken`` state used for both modes) the token is completed with ``{approved: true,
  model_package_arn}`` too.
- ``APPROVAL_MODE=manual`` (invoke with ``.waitForTaskToken``; ``task_token`` required): stores the token
  under ``TOKEN#APPROVAL#<package arn>`` (TTL: the approval timeout + 1 day) and returns ``{model_package_arn,
  approval_mode: "manual", approved: null, status, completed}``. ``approval_callback`` completes the wait from
  the registry's event; if the package is already Approved or Rejected, this function completes it itself.

Errors: ``PackageNotFound``, ``PackageNotInGroup``, ``CandidateRejected``, ``MalformedRequest``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lambdas.retraining import events, tokens
from lambdas.retraining.errors import CandidateRejected
from lambdas.retraining.registry import APPROVED, REJECTED, describe_package
from lambdas.retraining.runtime import Aws, approval_env, clients, state_store
from lambdas.retraining.settings import ApprovalEnv, ApprovalMode
from lambdas.retraining.state import PendingToken, StateStore, WaitKind
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger

_DESCRIPTION_MAX = 1024


def approval(event: object, *, env: ApprovalEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    arn = events.package_arn(request)
    name = events.execution_name(request)
    run_id = events.optional_text(request, "run_id", max_length=256) or ""
    if env.approval_mode is ApprovalMode.MANUAL:  # the token is required: a person decides, the state waits
        return _wait_for_decision(env, aws, arn=arn, execution_name=name, token=events.task_token(request), now=now)
    token = events.task_token(request) if request.get("task_token") is not None else None

    package = describe_package(aws.sagemaker, arn, env.model_package_group)
    status = package.get("ModelApprovalStatus")
    if status == REJECTED:
        raise CandidateRejected(rejection_cause(arn, package.get("ApprovalDescription")))
    if status != APPROVED:
        description = (
            f"Approved automatically (APPROVAL_MODE=auto, {env.label}) by retraining run {run_id or name} "
            f"(Step Functions execution {name})"
        )
        aws.sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=APPROVED, ApprovalDescription=description[:_DESCRIPTION_MAX]
        )
        logger.info("candidate approved automatically", extra={"model_package_arn": arn, "execution_name": name})
    if token is not None:
        store = state_store(env, aws)
        pending = PendingToken(
            kind=WaitKind.APPROVAL, key=arn, task_token=token, execution_name=name, stored_at=events.format_time(now)
        )
        tokens.succeed(store, aws.sfn, pending, approved_output(arn))
    return {"model_package_arn": arn, "approval_mode": ApprovalMode.AUTO.value, "approved": True, "status": APPROVED}


def _wait_for_decision(
    env: ApprovalEnv, aws: Aws, *, arn: str, execution_name: str, token: str, now: datetime
) -> dict[str, Any]:
    describe_package(aws.sagemaker, arn, env.model_package_group)  # fail fast on a wrong ARN: no token stored
    store = state_store(env, aws)
    store.put_token(
        WaitKind.APPROVAL,
        arn,
        task_token=token,
        execution_name=execution_name,
        now=now,
        ttl=timedelta(hours=env.policy.approval_timeout_hours),
    )
    # Safety check: a decision made before the token was stored has no event left to complete the wait.
    package = describe_package(aws.sagemaker, arn, env.model_package_group)
    status = str(package.get("ModelApprovalStatus", ""))
    completed = False
    if status in (APPROVED, REJECTED):
        logger.info("the candidate was decided before the wait began", extra={"model_package_arn": arn})
        completed = finish_approval(store, aws, arn, status, package.get("ApprovalDescription"))
    return {
        "model_package_arn": arn,
        "approval_mode": ApprovalMode.MANUAL.value,
        "approved": None,
        "status": status,
        "completed": completed,
    }


def finish_approval(store: StateStore, aws: Aws, arn: str, status: str, description: object) -> bool:
    """Complete the package's stored approval wait, if any; ``True`` when Step Functions accepted it."""
    pending = store.token(WaitKind.APPROVAL, arn)
    if pending is None:
        return False
    if status == APPROVED:
        return tokens.succeed(store, aws.sfn, pending, approved_output(arn, description))
    return tokens.fail(
        store, aws.sfn, pending, error=CandidateRejected.__name__, cause=rejection_cause(arn, description)
    )


def approved_output(arn: str, description: object = None) -> dict[str, Any]:
    output: dict[str, Any] = {"approved": True, "model_package_arn": arn}
    if isinstance(description, str) and description.strip():
        output["approval_description"] = description.strip()
    return output


def rejection_cause(arn: str, description: object) -> str:
    why = description.strip() if isinstance(description, str) and description.strip() else "no description given"
    return f"model package {arn} was rejected in the registry: {why}"


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return approval(event, env=approval_env(), aws=clients(), now=request_time(event))

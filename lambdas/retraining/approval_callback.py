"""approval_callback: complete the manual approval wait from the registry's EventBridge event.

Event  EventBridge ``SageMaker Model Package State Change``: ``{"detail": {"ModelPackageGroupName": str,
       "ModelPackageArn": str, "ModelApprovalStatus": str, "ApprovalDescription"?: str, ...}, ...}``
Result ``{model_package_arn, status, handled, delivered, reason}``

``Approved`` -> ``send_task_success`` with ``{"approved": true, "model_package_arn", "approval_description"?}``;
``Rejected`` -> ``send_task_failure`` with error ``CandidateRejected`` and the approval description as cause
(read from the registry when the event has none). Other statuses, other groups and packages without a stored
token (auto mode's own approval, a package nobody waits for) are logged and ignored. Idempotent: the token item
is deleted after use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.retraining import events
from lambdas.retraining.approval import finish_approval
from lambdas.retraining.registry import APPROVED, REJECTED
from lambdas.retraining.runtime import Aws, approval_env, clients, state_store
from lambdas.retraining.settings import ApprovalEnv
from lambdas.retraining.state import WaitKind
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger


def approval_callback(event: object, *, env: ApprovalEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    detail = events.as_mapping(request.get("detail"), where="detail")
    arn = events.package_arn(detail, "ModelPackageArn")
    status = events.text(detail, "ModelApprovalStatus", max_length=64)
    group = detail.get("ModelPackageGroupName")
    result: dict[str, Any] = {"model_package_arn": arn, "status": status, "handled": False, "delivered": False}
    if group != env.model_package_group:
        return {**result, "reason": f"package group {group!r} is not {env.model_package_group!r}"}
    if status not in (APPROVED, REJECTED):
        return {**result, "reason": f"status {status} is not a decision"}
    store = state_store(env, aws)
    if store.token(WaitKind.APPROVAL, arn) is None:
        logger.info("no pending approval wait for this package; ignored", extra={"arn": arn, "status": status})
        return {**result, "reason": "no pending approval wait for this package"}
    description = detail.get("ApprovalDescription")
    if status == REJECTED and not description:
        description = _registry_description(aws, arn)
    delivered = finish_approval(store, aws, arn, status, description)
    return {**result, "handled": True, "delivered": delivered, "reason": f"approval wait completed: {status}"}


def _registry_description(aws: Aws, arn: str) -> str | None:
    try:
        description = aws.sagemaker.describe_model_package(ModelPackageName=arn).get("ApprovalDescription")
    except ClientError as error:
        logger.warning("could not read the rejection's description", extra={"arn": arn, "error": str(error)})
        return None
    return str(description) if description else None


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return approval_callback(event, env=approval_env(), aws=clients(), now=request_time(event))

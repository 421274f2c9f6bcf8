"""pipeline_callback: complete the pipeline wait from the EventBridge status-change event.

Event  EventBridge ``SageMaker Model Building Pipeline Execution Status Change``:
       ``{"detail": {"pipelineExecutionArn": str, "currentPipelineExecutionStatus": str, ...}, ...}``
Result ``{pipeline_execution_arn, status, handled, delivered, reason}``

Terminal statuses only (``Succeeded``, ``Failed``, ``Stopped``, ``CompletedWithFailures``): the token stored by
``register_wait`` for the execution gets ``send_task_success`` with ``{"status", "pipeline_execution_arn"}`` on
Succeeded, else ``send_task_failure`` with error ``PipelineFailed`` and the execution's FailureReason as cause.
Executions without a stored token (not ours, or already completed) are logged and ignored. Idempotent: the
token item is deleted after use; a token Step Functions no longer accepts is not an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.retraining import events, tokens
from lambdas.retraining.errors import MalformedRequest, PipelineFailed, RetrainingError
from lambdas.retraining.registry import SUCCEEDED, TERMINAL, PipelineExecution, describe_execution, failure_cause
from lambdas.retraining.runtime import Aws, clients, state_env, state_store
from lambdas.retraining.settings import StateEnv
from lambdas.retraining.state import StateStore, WaitKind
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger


def pipeline_callback(event: object, *, env: StateEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    detail = events.as_mapping(request.get("detail"), where="detail")
    arn = events.pipeline_execution_arn(detail, "pipelineExecutionArn")
    status = events.text(detail, "currentPipelineExecutionStatus", max_length=64)
    result: dict[str, Any] = {"pipeline_execution_arn": arn, "status": status, "handled": False, "delivered": False}
    if status not in TERMINAL:
        return {**result, "reason": f"status {status} is not terminal"}
    store = state_store(env, aws)
    if store.token(WaitKind.PIPELINE, arn) is None:
        logger.info("no pending wait for this pipeline execution; ignored", extra={"arn": arn, "status": status})
        return {**result, "reason": "no pending wait for this execution"}
    execution = PipelineExecution(arn=arn, status=status, failure_reason="", created=None)
    if status != SUCCEEDED:
        execution = _with_failure_reason(aws, execution)
    delivered = finish_wait(store, aws, execution)
    return {**result, "handled": True, "delivered": delivered, "reason": f"wait completed: {status}"}


def finish_wait(store: StateStore, aws: Aws, execution: PipelineExecution) -> bool:
    """Complete the execution's stored wait token, if any; ``True`` when Step Functions accepted it."""
    pending = store.token(WaitKind.PIPELINE, execution.arn)
    if pending is None:
        return False
    if execution.status == SUCCEEDED:
        output = {"status": execution.status, "pipeline_execution_arn": execution.arn}
        return tokens.succeed(store, aws.sfn, pending, output)
    return tokens.fail(store, aws.sfn, pending, error=PipelineFailed.__name__, cause=failure_cause(execution))


def _with_failure_reason(aws: Aws, execution: PipelineExecution) -> PipelineExecution:
    """The event carries no failure reason: describe the execution for it (best effort)."""
    try:
        described = describe_execution(aws.sagemaker, execution.arn)
    except (ClientError, RetrainingError, MalformedRequest) as error:
        logger.warning("could not describe the failed pipeline execution", extra={"error": str(error)})
        return execution
    return PipelineExecution(
        arn=execution.arn, status=execution.status, failure_reason=described.failure_reason, created=described.created
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return pipeline_callback(event, env=state_env(), aws=clients(), now=request_time(event))

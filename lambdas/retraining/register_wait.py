"""register_wait: park the state machine until the pipeline execution ends (``lambda:invoke.waitForTaskToken``).

Event  ``{"task_token": "$$.Task.Token", "pipeline_execution_arn": str, "execution_name": str, "now"?: iso}``
Result ``{pipeline_execution_arn, status, completed}`` (a ``.waitForTaskToken`` task ignores it: its output is
what ``send_task_success`` sends, ``{status: "Succeeded", pipeline_execution_arn}``).

Stores the token under ``TOKEN#PIPELINE#<execution arn>`` (TTL: the pipeline timeout + 1 day), then checks the
execution right away: if it already ended (its EventBridge event came before the token was stored, or was
lost), it completes the token itself, exactly as ``pipeline_callback`` would. Re-invoking it (a retried wait
state has a new token) replaces the stored token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lambdas.retraining import events
from lambdas.retraining.pipeline_callback import finish_wait
from lambdas.retraining.registry import describe_execution
from lambdas.retraining.runtime import Aws, clients, state_store, wait_env
from lambdas.retraining.settings import WaitEnv
from lambdas.retraining.state import WaitKind
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger


def register_wait(event: object, *, env: WaitEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    token = events.task_token(request)
    arn = events.pipeline_execution_arn(request)
    name = events.execution_name(request)
    store = state_store(env, aws)
    store.put_token(
        WaitKind.PIPELINE,
        arn,
        task_token=token,
        execution_name=name,
        now=now,
        ttl=timedelta(hours=env.policy.pipeline_timeout_hours),
    )
    execution = describe_execution(aws.sagemaker, arn)
    completed = False
    if execution.finished:
        logger.info("pipeline already finished when the wait began", extra={"arn": arn, "status": execution.status})
        completed = finish_wait(store, aws, execution)
    return {"pipeline_execution_arn": arn, "status": execution.status, "completed": completed}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return register_wait(event, env=wait_env(), aws=clients(), now=request_time(event))

"""trigger: start the retraining state machine for an alarm or schedule event, once per distinct trigger.

Event  EventBridge ``CloudWatch Alarm State Change`` (``detail.alarmName``, ``detail.state.timestamp``) or a
       ``Scheduled Event`` (``time``).
Result ``{started: bool, execution_name, duplicate: bool}``

The execution name is derived from the trigger (source, alarm name and the state change's timestamp, or the
schedule's time): EventBridge delivers at least once and an alarm can be re-sent, so identical triggers map to
one name and only the first starts a run; the others are counted as duplicates, not raised.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from lambdas.shared.aws import LazyClient
from lambdas.shared.observability import logger, metrics

_SFN = LazyClient("stepfunctions")


class MalformedTrigger(ValueError):  # noqa: N818 - named by what it is, like the other input errors
    """The event is neither an alarm state change nor a scheduled event."""


def describe(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(source, unique key, detail) of a trigger event, read through Powertools' EventBridge event data class."""
    if not isinstance(event, dict):
        raise MalformedTrigger(f"expected an EventBridge event object, got {type(event).__name__}")
    envelope = EventBridgeEvent(event)
    try:
        detail_type = envelope.detail_type
        if detail_type == "CloudWatch Alarm State Change":
            detail = envelope.detail
            name, state = detail["alarmName"], detail["state"]
            return (
                "alarm",
                f"{name}|{state['timestamp']}",
                {"alarm_name": name, "state": state.get("value"), "reason": state.get("reason", "")},
            )
        if detail_type == "Scheduled Event":
            return "schedule", envelope.time, {"time": envelope.time}
    except (KeyError, TypeError) as missing:
        raise MalformedTrigger(f"{detail_type_of(event)} event without {missing}") from None
    raise MalformedTrigger(f"unsupported trigger event type {detail_type!r}")


def detail_type_of(event: dict[str, Any]) -> str:
    return str(event.get("detail-type") or "an EventBridge")


def execution_name(source: str, key: str) -> str:
    return f"{source}-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def start(sfn: Any, *, state_machine_arn: str, event: dict[str, Any]) -> dict[str, Any]:
    source, key, detail = describe(event)
    name = execution_name(source, key)
    # StartExecution with the same name and input as a running execution succeeds without starting another
    # (and fails with ExecutionAlreadyExists once it has closed), so "new or duplicate" is decided by lookup.
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    try:
        sfn.describe_execution(executionArn=execution_arn)
        return {"started": False, "execution_name": name, "duplicate": True}
    except sfn.exceptions.ExecutionDoesNotExist:
        pass
    try:
        sfn.start_execution(
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps({"trigger": {"source": source, "detail": detail}}, sort_keys=True),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return {"started": False, "execution_name": name, "duplicate": True}
    return {"started": True, "execution_name": name, "duplicate": False}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = start(_SFN, state_machine_arn=os.environ["STATE_MACHINE_ARN"], event=event)
    metrics.add_metric(name="DuplicateTriggers" if result["duplicate"] else "RetrainingsStarted", unit="Count", value=1)
    logger.info("retraining trigger", extra=result)
    return result

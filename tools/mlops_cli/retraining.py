"""``retrain``, ``pause`` and ``resume``: the retraining state machine and its PAUSED switch.

State table ``mlops-<env>-<model>-retraining``: item ``pk = "<model>#<env>"``, ``sk = "PAUSED"``. ``pause`` writes
``paused`` (bool true), ``reason``, ``paused_by`` and ``paused_at`` (fixed-width UTC with microseconds, like the
table's other times); ``resume`` deletes the item. Reading, the item's presence means paused unless ``paused`` is
explicitly false: the retraining guard (``lambdas/retraining/state.py``) treats presence as paused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from tools.mlops_cli.errors import CliError, error_code
from tools.mlops_cli.target import Target

PAUSED_SK = "PAUSED"


@dataclass(frozen=True, kw_only=True)
class PauseState:
    """``paused`` is None when the state table does not exist (nothing can have paused retraining)."""

    paused: bool | None
    reason: str = ""
    paused_by: str = ""
    paused_at: str = ""


@dataclass(frozen=True, kw_only=True)
class Execution:
    name: str
    arn: str
    started_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class RetrainResult:
    state_machine_arn: str
    execution_name: str
    execution_arn: str
    started_at: datetime
    input: dict[str, Any]
    already_running: list[Execution] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class PauseResult:
    table: str
    paused: bool
    reason: str
    by: str
    at: str
    was: PauseState


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(target: Target) -> dict[str, Any]:
    return {"pk": {"S": target.pk}, "sk": {"S": PAUSED_SK}}


def _pause_state(item: dict[str, Any] | None) -> PauseState:
    if not item:
        return PauseState(paused=False)
    return PauseState(
        paused=item.get("paused", {}).get("BOOL", True) is not False,
        reason=str(item.get("reason", {}).get("S", "")),
        paused_by=str(item.get("paused_by", {}).get("S", "")),
        paused_at=str(item.get("paused_at", {}).get("S", "")),
    )


def _missing_table(target: Target) -> CliError:
    return CliError(
        f"retraining state table '{target.state_table}' does not exist in {target.region}: "
        "is the retraining stack deployed?"
    )


def read_pause(dynamodb: Any, target: Target) -> PauseState:
    try:
        response = dynamodb.get_item(TableName=target.state_table, Key=_key(target), ConsistentRead=True)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return PauseState(paused=None)
        raise
    return _pause_state(response.get("Item"))


def pause(target: Target, *, dynamodb: Any, reason: str, requested_by: str, now: datetime) -> PauseResult:
    if not reason.strip():
        raise CliError("pause needs a --reason: say why retraining is paused, for whoever resumes it")
    at = _format_time(now)
    item = {
        **_key(target),
        "paused": {"BOOL": True},
        "reason": {"S": reason.strip()},
        "paused_by": {"S": requested_by},
        "paused_at": {"S": at},
    }
    try:
        response = dynamodb.put_item(TableName=target.state_table, Item=item, ReturnValues="ALL_OLD")
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise _missing_table(target) from None
        raise
    return PauseResult(
        table=target.state_table,
        paused=True,
        reason=reason.strip(),
        by=requested_by,
        at=at,
        was=_pause_state(response.get("Attributes")),
    )


def resume(target: Target, *, dynamodb: Any, requested_by: str, now: datetime) -> PauseResult:
    try:
        response = dynamodb.delete_item(TableName=target.state_table, Key=_key(target), ReturnValues="ALL_OLD")
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise _missing_table(target) from None
        raise
    return PauseResult(
        table=target.state_table,
        paused=False,
        reason="",
        by=requested_by,
        at=_format_time(now),
        was=_pause_state(response.get("Attributes")),
    )


def find_state_machine(stepfunctions: Any, name: str) -> str | None:
    """The ARN of the state machine called ``name``, or None."""
    for page in stepfunctions.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            if machine.get("name") == name:
                return str(machine["stateMachineArn"])
    return None


def running_executions(stepfunctions: Any, state_machine_arn: str) -> list[Execution]:
    """Running executions, newest first."""
    found = [
        Execution(name=str(e["name"]), arn=str(e["executionArn"]), started_at=e.get("startDate"))
        for page in stepfunctions.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        )
        for e in page.get("executions", [])
    ]
    return sorted(found, key=lambda e: e.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)


def execution_name(run_input: dict[str, Any], now: datetime) -> str:
    """``manual-<yyyymmddThhmmss>-<8 hex>``; the hash covers the input, so a double submit of the same request
    in the same second names the same execution (StartExecution is idempotent then) and different requests
    never collide."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(f"{stamp}|{json.dumps(run_input, sort_keys=True)}".encode()).hexdigest()[:8]
    return f"manual-{stamp}-{digest}"


def retrain(
    target: Target, *, stepfunctions: Any, dynamodb: Any, requested_by: str, reason: str | None, now: datetime
) -> RetrainResult:
    state = read_pause(dynamodb, target)
    if state.paused:
        by = f" by {state.paused_by}" if state.paused_by else ""
        at = f" at {state.paused_at[:19]}Z" if len(state.paused_at) >= 19 else ""
        why = f": {state.reason}" if state.reason else ""
        raise CliError(f"retraining of {target.label} is paused{by}{at}{why}; run `resume` first")
    arn = find_state_machine(stepfunctions, target.state_machine_name)
    if arn is None:
        raise CliError(
            f"state machine '{target.state_machine_name}' does not exist in {target.region}: "
            "is the retraining stack deployed?"
        )
    detail: dict[str, Any] = {"requested_by": requested_by, "reason": (reason or "").strip() or "manual retraining"}
    run_input: dict[str, Any] = {"trigger": {"source": "manual", "detail": detail}}
    running = running_executions(stepfunctions, arn)
    name = execution_name(run_input, now)
    response = stepfunctions.start_execution(stateMachineArn=arn, name=name, input=json.dumps(run_input))
    return RetrainResult(
        state_machine_arn=arn,
        execution_name=name,
        execution_arn=str(response["executionArn"]),
        started_at=response.get("startDate") or now,
        input=run_input,
        already_running=running,
    )

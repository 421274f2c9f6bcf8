"""Identical triggers start one retraining; distinct ones start their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.retraining.trigger import MalformedTrigger, start


def alarm_event(
    timestamp: str = "2026-03-01T10:00:00.000+0000", name: str = "fraud-detection-dev-drift"
) -> dict[str, Any]:
    return {
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "detail": {"alarmName": name, "state": {"value": "ALARM", "timestamp": timestamp, "reason": "drift"}},
    }


@pytest.fixture
def machine() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="mlops-dev-fraud-detection-retraining",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        yield sfn, arn


def test_ten_identical_alarm_triggers_start_one_retraining(machine: tuple[Any, str]) -> None:
    sfn, arn = machine
    results = [start(sfn, state_machine_arn=arn, event=alarm_event()) for _ in range(10)]
    assert [r["started"] for r in results].count(True) == 1
    assert sum(r["duplicate"] for r in results) == 9
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert len(executions) == 1
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(started["input"])["trigger"] == {
        "source": "alarm",
        "detail": {"alarm_name": "fraud-detection-dev-drift", "state": "ALARM", "reason": "drift"},
    }


def test_a_later_alarm_or_a_schedule_starts_its_own_run(machine: tuple[Any, str]) -> None:
    sfn, arn = machine
    first = start(sfn, state_machine_arn=arn, event=alarm_event())
    later = start(sfn, state_machine_arn=arn, event=alarm_event("2026-03-02T10:00:00.000+0000"))
    scheduled = start(
        sfn, state_machine_arn=arn, event={"detail-type": "Scheduled Event", "time": "2026-03-03T00:00:00Z"}
    )
    assert len({first["execution_name"], later["execution_name"], scheduled["execution_name"]}) == 3
    assert scheduled["execution_name"].startswith("schedule-")


@pytest.mark.parametrize(
    "event", [{}, {"detail-type": "CloudWatch Alarm State Change", "detail": {}}, {"detail-type": "Scheduled Event"}]
)
def test_malformed_triggers_are_rejected_by_name(machine: tuple[Any, str], event: dict[str, Any]) -> None:
    sfn, arn = machine
    with pytest.raises(MalformedTrigger):
        start(sfn, state_machine_arn=arn, event=event)
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []

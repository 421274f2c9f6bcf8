"""retrain starts the state machine unless retraining is paused; pause and resume flip the PAUSED item."""

from __future__ import annotations

import json
import re

from tests.unit.cli.conftest import NOW, TARGET, Cli, create_table
from tools.mlops_cli.retraining import execution_name

ARGS = ("--env", "dev", "--model", "fraud-detection")


def paused_item(cli: Cli) -> dict[str, object] | None:
    key = {"pk": {"S": "fraud-detection#dev"}, "sk": {"S": "PAUSED"}}
    item: dict[str, object] | None = cli.world.dynamodb.get_item(TableName=TARGET.state_table, Key=key).get("Item")
    return item


def test_retrain_starts_a_manual_execution_with_who_and_why(cli: Cli) -> None:
    machine = cli.create_retraining()

    result = cli("retrain", *ARGS, "--reason", "labels backfilled", "--json")

    assert result.code == 0, result.err
    shown = result.json()
    expected_input = {
        "trigger": {"source": "manual", "detail": {"requested_by": "moto", "reason": "labels backfilled"}}
    }
    assert shown["input"] == expected_input
    assert re.fullmatch(r"manual-20260301T123005-[0-9a-f]{8}", shown["execution_name"])
    assert shown["state_machine_arn"] == machine
    described = cli.stepfunctions.describe_execution(executionArn=shown["execution_arn"])
    assert (described["name"], json.loads(described["input"])) == (shown["execution_name"], expected_input)
    assert shown["already_running"] == []


def test_retrain_notes_executions_already_running(cli: Cli) -> None:
    machine = cli.create_retraining()
    cli.stepfunctions.start_execution(stateMachineArn=machine, name="alarm-drift-1", input="{}")

    result = cli("retrain", *ARGS)

    assert result.code == 0, result.err
    assert result.out.startswith("started manual-20260301T123005-")
    assert "note: already running: alarm-drift-1" in result.out


def test_execution_names_differ_by_request_and_repeat_for_the_same_request() -> None:
    first = {"trigger": {"source": "manual", "detail": {"requested_by": "alice", "reason": "a"}}}
    second = {"trigger": {"source": "manual", "detail": {"requested_by": "bob", "reason": "a"}}}
    assert execution_name(first, NOW) == execution_name(first, NOW)
    assert execution_name(first, NOW) != execution_name(second, NOW)
    assert len(execution_name(first, NOW)) <= 80  # Step Functions' limit


def test_retrain_refuses_while_paused(cli: Cli) -> None:
    machine = cli.create_retraining()
    assert cli("pause", *ARGS, "--reason", "feature store incident").code == 0

    result = cli("retrain", *ARGS, "--reason", "try anyway")

    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "error: retraining of fraud-detection in dev is paused by moto at 2026-03-01T12:30:05Z: "
        "feature store incident; run `resume` first\n"
    )
    assert cli.stepfunctions.list_executions(stateMachineArn=machine)["executions"] == []


def test_retrain_without_the_state_machine_names_it(cli: Cli) -> None:
    create_table(cli.world.dynamodb, TARGET.state_table)

    result = cli("retrain", *ARGS)

    assert result.code == 1
    assert result.err == (
        "error: state machine 'mlops-dev-fraud-detection-retraining' does not exist in us-east-1: "
        "is the retraining stack deployed?\n"
    )


def test_pause_then_resume(cli: Cli) -> None:
    cli.create_retraining()

    paused = cli("pause", *ARGS, "--reason", "bad labels upstream")
    again = cli("pause", *ARGS, "--reason", "still bad", "--json")

    assert (paused.code, paused.out) == (0, "retraining paused by moto: bad labels upstream\n")
    assert again.json()["was"]["reason"] == "bad labels upstream"
    assert paused_item(cli) == {
        "pk": {"S": "fraud-detection#dev"},
        "sk": {"S": "PAUSED"},
        "paused": {"BOOL": True},
        "reason": {"S": "still bad"},
        "paused_by": {"S": "moto"},
        "paused_at": {"S": "2026-03-01T12:30:05.000000Z"},
    }

    resumed = cli("resume", *ARGS)

    assert (resumed.code, resumed.out) == (0, "retraining resumed (it was paused by moto: still bad)\n")
    assert paused_item(cli) is None
    assert cli("resume", *ARGS).out == "retraining was not paused; nothing changed\n"


def test_the_paused_item_without_the_flag_still_pauses_and_an_explicit_false_does_not(cli: Cli) -> None:
    cli.create_retraining()
    key = {"pk": {"S": "fraud-detection#dev"}, "sk": {"S": "PAUSED"}}
    # as the retraining guard's own StateStore.pause writes it: presence means paused
    cli.world.dynamodb.put_item(TableName=TARGET.state_table, Item={**key, "paused_by": {"S": "guard-test"}})
    assert cli("retrain", *ARGS).code == 1

    cli.world.dynamodb.put_item(TableName=TARGET.state_table, Item={**key, "paused": {"BOOL": False}})
    assert cli("retrain", *ARGS).code == 0


def test_pause_needs_a_reason_and_the_table(empty: Cli) -> None:
    assert empty("pause", *ARGS).code == 2
    assert empty("pause", *ARGS, "--reason", "  ").code == 2

    result = empty("pause", *ARGS, "--reason", "incident")

    assert result.code == 1
    assert result.err == (
        "error: retraining state table 'mlops-dev-fraud-detection-retraining' does not exist in us-east-1: "
        "is the retraining stack deployed?\n"
    )

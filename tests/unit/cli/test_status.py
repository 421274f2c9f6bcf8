"""status: pointer and package, endpoint vs champion (silent rollbacks), history, retraining, alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lambdas.deployment.idle import run as run_idle
from tests.unit.cli.conftest import TARGET, Cli
from tests.unit.deployment.conftest import INITIAL_CONFIG
from tests.unit.deployment.support import deploy_and_promote, prepare_and_deploy
from tools.mlops_cli.status import status

NIGHT = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)


def run_status(cli: Cli, *extra: str) -> Any:
    result = cli("status", "--env", "dev", "--model", "fraud-detection", "--json", *extra)
    assert (result.code, result.err) == (0, "")
    return result.json()


def test_status_of_a_fresh_environment_shows_the_bootstrapped_model(cli: Cli) -> None:
    cli.create_retraining()

    result = cli("status", "--env", "dev", "--model", "fraud-detection")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "fraud-detection in dev (us-east-1)"
    assert "Serving      fraud-detection-dev v1 (Approved, created " in result.out
    assert f"{TARGET.pointer_parameter} = {cli.world.packages['v1']}" in result.out
    assert f"Endpoint     fraud-detection-dev InService on config {INITIAL_CONFIG}" in result.out
    assert "champion: none recorded" in result.out
    assert "Deployments  none recorded" in result.out
    assert "Retraining   not paused" in result.out
    assert "no execution running" in result.out
    assert "Alarms       none named fraud-detection-dev-*" in result.out
    assert "WARNING" not in result.out


def test_status_reflects_pointer_history_pause_executions_and_alarms(cli: Cli) -> None:
    machine = cli.create_retraining()
    env = cli.env
    deploy_and_promote(cli.world, env, "exec-1", "v2")
    second = deploy_and_promote(cli.world, env, "exec-2", "v3")
    cli.stepfunctions.start_execution(stateMachineArn=machine, name="alarm-drift-1", input="{}")
    cli.alarm("fraud-detection-dev-primary-5xx-rate", "ALARM", "5xx above 1%")
    cli.alarm("fraud-detection-dev-primary-p99-model-latency")
    cli.alarm("fraud-detection-prod-primary-5xx-rate", "ALARM")  # another environment: not listed
    assert cli("pause", "--env", "dev", "--model", "fraud-detection", "--reason", "bad labels upstream").code == 0

    shown = run_status(cli, "--last", "3")

    v3 = cli.world.packages["v3"]
    assert shown["serving"]["pointer"] == v3
    assert (shown["serving"]["package"]["version"], shown["serving"]["package"]["approval"]) == (3, "Approved")
    assert shown["serving"]["package"]["created"].endswith("Z")
    endpoint = shown["endpoint"]
    assert endpoint["status"] == "InService"
    assert endpoint["config_name"] == endpoint["champion_config_name"] == second["endpoint_config_name"]
    assert (endpoint["champion_deployment_id"], endpoint["matches_champion"]) == ("exec-2", True)
    assert endpoint["silent_rollback"] is False
    rows = [(d["deployment_id"], d["package_version"], d["strategy"], d["outcome"]) for d in shown["deployments"]]
    assert rows == [("exec-2", 3, "canary", "promoted"), ("exec-1", 2, "canary", "promoted")]  # newest first
    assert shown["retraining"]["pause"] == {
        "paused": True,
        "reason": "bad labels upstream",
        "paused_by": "moto",
        "paused_at": "2026-03-01T12:30:05.000000Z",
    }
    assert [e["name"] for e in shown["retraining"]["running"]] == ["alarm-drift-1"]
    assert [(a["name"], a["state"]) for a in shown["alarms"]] == [
        ("fraud-detection-dev-primary-5xx-rate", "ALARM"),  # firing first
        ("fraud-detection-dev-primary-p99-model-latency", "OK"),
    ]
    assert any("retraining is paused by moto: bad labels upstream" in w for w in shown["warnings"])
    assert any("1 alarm(s) in ALARM: fraud-detection-dev-primary-5xx-rate" in w for w in shown["warnings"])

    text = cli("status", "--env", "dev", "--model", "fraud-detection").out
    assert "Serving      fraud-detection-dev v3 (Approved" in text
    assert f"champion deployment exec-2 on {second['endpoint_config_name']}: matches" in text
    assert "Deployments  last 2, newest first" in text
    assert text.index("exec-2") < text.index("exec-1")
    assert "Retraining   PAUSED by moto since 2026-03-01 12:30:05 UTC: bad labels upstream" in text
    assert "running: alarm-drift-1 since" in text
    assert "Alarms       1 of 2 in ALARM" in text
    assert "fraud-detection-prod" not in text


def test_silent_rollback_during_a_deployment_is_flagged(cli: Cli) -> None:
    deploy_and_promote(cli.world, cli.env, "exec-1", "v2")
    prepared = prepare_and_deploy(cli.world, cli.env, "exec-2", "v3")
    champion_config = cli.world.sagemaker.endpoint_config_name()
    cli.world.sagemaker.sagemaker_rolls_back()  # an alarm fired: InService again, on the old config

    shown = run_status(cli)

    endpoint = shown["endpoint"]
    assert endpoint["status"] == "InService"
    assert endpoint["config_name"] == champion_config
    assert endpoint["expected_config_name"] == prepared["endpoint_config_name"]
    assert endpoint["silent_rollback"] is True
    assert any(w.startswith("SILENT ROLLBACK: ") and "deployment 'exec-2' requested" in w for w in shown["warnings"])
    text = cli("status", "--env", "dev", "--model", "fraud-detection").out
    assert f"SILENT ROLLBACK: InService on {champion_config}, expected {prepared['endpoint_config_name']}" in text


def test_endpoint_serving_another_config_than_the_champion_is_flagged(cli: Cli) -> None:
    deploy_and_promote(cli.world, cli.env, "exec-1", "v2")
    cli.world.sagemaker.update_endpoint(EndpointName=TARGET.endpoint_name, EndpointConfigName=INITIAL_CONFIG)
    cli.world.sagemaker.finish_update()  # someone (or SageMaker) put the old config back

    shown = run_status(cli)

    assert (shown["endpoint"]["matches_champion"], shown["endpoint"]["silent_rollback"]) == (False, True)
    assert any("the champion (deployment 'exec-1') is recorded on" in w for w in shown["warnings"])
    assert "DOES NOT MATCH" in cli("status", "--env", "dev", "--model", "fraud-detection").out


def test_an_update_in_progress_is_not_a_silent_rollback(cli: Cli) -> None:
    deploy_and_promote(cli.world, cli.env, "exec-1", "v2")
    prepared = prepare_and_deploy(cli.world, cli.env, "exec-2", "v3")  # endpoint Updating

    shown = run_status(cli)

    assert shown["endpoint"]["status"] == "Updating"
    assert shown["endpoint"]["pending_config_name"] == prepared["endpoint_config_name"]
    assert shown["endpoint"]["silent_rollback"] is False
    assert "deployment 'exec-2' is in progress (deploying)" in shown["warnings"]


def test_a_sleeping_endpoint_is_shown_asleep_not_missing(cli: Cli) -> None:
    cli.create_retraining()
    # The idle schedule's real sleep (ADR 0020) deletes the endpoint and records the config it wakes on.
    assert run_idle({"action": "sleep"}, env=cli.env, aws=cli.world.aws, now=NIGHT)["outcome"] == "deleted"

    shown = run_status(cli)

    assert (shown["endpoint"]["status"], shown["endpoint"]["asleep_on_config"]) == (None, INITIAL_CONFIG)
    assert not [w for w in shown["warnings"] if "endpoint" in w]
    text = cli("status", "--env", "dev", "--model", "fraud-detection").out
    assert f"Endpoint     fraud-detection-dev: asleep (idle schedule), wakes on config {INITIAL_CONFIG}" in text


def test_status_tolerates_an_environment_with_nothing_deployed(empty: Cli) -> None:
    shown = run_status(empty)

    assert shown["serving"] == {"pointer_parameter": TARGET.pointer_parameter, "pointer": None, "package": None}
    assert shown["endpoint"]["status"] is None
    assert (shown["history_found"], shown["deployments"]) == (False, [])
    assert shown["retraining"]["state_machine_arn"] is None
    assert shown["retraining"]["pause"]["paused"] is None
    assert len(shown["warnings"]) == 4
    text = empty("status", "--env", "dev", "--model", "fraud-detection").out
    assert "pause state unknown (table mlops-dev-fraud-detection-retraining does not exist)" in text
    assert "state machine mlops-dev-fraud-detection-retraining does not exist" in text


def test_status_logic_takes_its_clients(cli: Cli) -> None:
    result = status(
        TARGET,
        sagemaker=cli.world.sagemaker,
        ssm=cli.world.ssm,
        dynamodb=cli.world.dynamodb,
        stepfunctions=cli.stepfunctions,
        cloudwatch=cli.cloudwatch,
        last=1,
    )
    assert result.serving.pointer == cli.world.packages["v1"]
    assert json.dumps(result.warnings)  # plain strings

"""rollback: invoke the rollback function, wait while it reports EndpointNotReady, report what was restored."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lambdas.deployment.history import HistoryStore
from tests.contract.recorder import record_call
from tests.unit.cli.conftest import TARGET, Cli
from tests.unit.deployment.conftest import client
from tests.unit.deployment.support import deploy_and_promote
from tools.mlops_cli.aws import Invoke, lambda_invoker
from tools.mlops_cli.errors import CliError
from tools.mlops_cli.rollback import rollback

ARGS = ("--env", "dev", "--model", "fraud-detection")


def not_ready(message: str = "endpoint 'fraud-detection-dev' is Updating") -> dict[str, Any]:
    return {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": {"errorType": "EndpointNotReady", "errorMessage": message, "stackTrace": []},
    }


def done(cli: Cli) -> dict[str, Any]:
    return {
        "StatusCode": 200,
        "Payload": {
            "deployment_id": "exec-2",
            "outcome": "rolled_back",
            "restored_model_package_arn": cli.world.packages["v2"],
            "restored_endpoint_config_name": "fraud-detection-dev-abc-c",
            "rolled_back_model_package_arn": cli.world.packages["v3"],
            "serving_pointer_parameter": TARGET.pointer_parameter,
            "finished_at": "2026-03-01T12:40:00.000000Z",
        },
    }


class FakeRollbackFunction:
    """Answers with the given responses in turn and records what it was invoked with."""

    def __init__(self, *responses: dict[str, Any]) -> None:
        self.responses = list(responses)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        record_call("lambda", "Invoke", {"FunctionName": function_name}, depth=2)  # for the IAM contract tier
        self.calls.append((function_name, payload))
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


@pytest.fixture
def promoted_twice(cli: Cli) -> Cli:
    deploy_and_promote(cli.world, cli.env, "exec-1", "v2")
    deploy_and_promote(cli.world, cli.env, "exec-2", "v3")
    return cli


def test_waits_while_the_endpoint_is_not_ready_then_reports_the_restored_package(promoted_twice: Cli) -> None:
    cli = promoted_twice
    cli.world.ssm.put_parameter(
        Name=TARGET.pointer_parameter, Value=cli.world.packages["v2"], Type="String", Overwrite=True
    )
    function = FakeRollbackFunction(not_ready("rollback requested"), not_ready(), done(cli))

    result = cli("rollback", *ARGS, "--reason", "p99 doubled", "--poll-interval", "20", invoke=function)

    assert result.code == 0, result.err
    expected_payload = {"deployment_id": "exec-2", "reason": "p99 doubled (requested by moto)", "requested_by": "moto"}
    assert function.calls == [("fraud-detection-dev-rollback", expected_payload)] * 3
    assert cli.sleeps == [20, 20]
    assert result.err.splitlines() == [
        "waiting 20s: rollback requested",
        "waiting 20s: endpoint 'fraud-detection-dev' is Updating",
    ]
    assert result.out.splitlines() == [
        "rolled back deployment exec-2",
        f"  restored package  {cli.world.packages['v2']}",
        "  endpoint config   fraud-detection-dev-abc-c",
        f"  replaced package  {cli.world.packages['v3']}",
        f"  pointer           {TARGET.pointer_parameter} = {cli.world.packages['v2']}",
    ]


def test_gives_up_after_the_timeout_with_one_line(promoted_twice: Cli) -> None:
    cli = promoted_twice
    function = FakeRollbackFunction(not_ready())

    result = cli("rollback", *ARGS, "--poll-interval", "30", "--timeout", "100", invoke=function)

    assert result.code == 1
    assert cli.sleeps == [30, 30, 30]
    assert len(function.calls) == 4
    assert result.err.splitlines()[-1] == (
        "error: endpoint 'fraud-detection-dev' still not ready after 90s (endpoint 'fraud-detection-dev' is "
        "Updating); the rollback is not finished: run `rollback` again to wait longer"
    )


def test_another_function_error_fails_at_once(promoted_twice: Cli) -> None:
    cli = promoted_twice
    failed = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": {"errorType": "EndpointFailed", "errorMessage": "endpoint 'fraud-detection-dev' is Failed:\nboom"},
    }
    function = FakeRollbackFunction(failed)

    result = cli("rollback", *ARGS, invoke=function)

    assert (result.code, result.out, cli.sleeps, len(function.calls)) == (1, "", [], 1)
    assert result.err == (
        "error: rollback of deployment 'exec-2' failed: EndpointFailed: endpoint 'fraud-detection-dev' is Failed: "
        "boom\n"
    )


def test_nothing_to_roll_back_before_the_automation_deployed_anything(cli: Cli) -> None:
    function = FakeRollbackFunction(not_ready())

    result = cli("rollback", *ARGS, invoke=function)

    assert result.code == 1
    assert result.err.startswith("error: nothing to roll back for fraud-detection in dev: ")
    assert function.calls == []


def test_rollback_logic_takes_an_invoke_callable(promoted_twice: Cli) -> None:
    cli = promoted_twice
    function: Invoke = FakeRollbackFunction({"StatusCode": 200, "Payload": {"outcome": "promoted"}})

    with pytest.raises(CliError, match="answered without outcome 'rolled_back'"):
        rollback(
            TARGET,
            invoke=function,
            dynamodb=cli.world.dynamodb,
            ssm=cli.world.ssm,
            requested_by="alice",
            reason=None,
            poll_seconds=1,
            timeout_seconds=10,
            sleep=lambda _: None,
            clock=lambda: 0.0,
        )


def test_rollback_from_the_cli_runs_the_real_rollback_logic_after_two_promotions(promoted_twice: Cli) -> None:
    cli = promoted_twice
    world = cli.world
    v2_config = (
        HistoryStore(
            dynamodb=world.dynamodb, table=TARGET.history_table, model_name="fraud-detection", environment="dev"
        )
        .get("exec-1")
        .final_config
    )
    assert world.pointer() == world.packages["v3"]

    def sagemaker_finishes_while_we_wait(_: float) -> None:
        if world.sagemaker.describe_endpoint(EndpointName=TARGET.endpoint_name)["EndpointStatus"] == "Updating":
            world.sagemaker.finish_update()

    result = cli(
        "rollback",
        *ARGS,
        "--reason",
        "drill",
        "--json",
        invoke=cli.in_process_rollback(),
        sleep=sagemaker_finishes_while_we_wait,
    )

    assert result.code == 0, result.err
    shown = result.json()
    assert shown["deployment_id"] == "exec-2"
    assert shown["restored_model_package_arn"] == world.packages["v2"]
    assert shown["rolled_back_model_package_arn"] == world.packages["v3"]
    assert shown["restored_endpoint_config_name"] == v2_config
    assert shown["pointer"] == world.pointer() == world.packages["v2"]
    assert shown["invocations"] == 2  # requested the update, then finished once SageMaker was done
    assert world.sagemaker.endpoint_config_name() == v2_config
    store = HistoryStore(
        dynamodb=world.dynamodb, table=TARGET.history_table, model_name="fraud-detection", environment="dev"
    )
    record = store.get("exec-2")
    assert (record.outcome, record.reason) == ("rolled_back", "drill (requested by moto)")
    champion = store.champion()
    assert champion is not None
    assert (champion.current.deployment_id, champion.current.model_package_arn) == ("exec-1", world.packages["v2"])

    status = cli("status", *ARGS, "--json").json()
    assert status["serving"]["pointer"] == world.packages["v2"]
    assert (status["endpoint"]["matches_champion"], status["endpoint"]["silent_rollback"]) == (True, False)
    assert status["deployments"][0]["outcome"] == "rolled_back"

    # a second operator's rollback would step back once more: refused unless forced
    again = cli("rollback", *ARGS, invoke=cli.in_process_rollback())
    assert (again.code, again.out) == (1, "")
    assert again.err == (
        "error: what serves fraud-detection in dev (deployment 'exec-1') was itself restored by rolling back "
        "deployment 'exec-2' at 2026-03-01T12:10:00.000000Z; pass --force to step back once more\n"
    )
    assert world.pointer() == world.packages["v2"]
    forced = cli("rollback", *ARGS, "--force", invoke=cli.in_process_rollback(), sleep=sagemaker_finishes_while_we_wait)
    assert forced.code == 0, forced.err
    assert world.pointer() == world.packages["v1"]


def test_reinvoking_after_a_lost_response_does_not_roll_back_twice(promoted_twice: Cli) -> None:
    cli = promoted_twice
    world = cli.world
    real = cli.in_process_rollback()
    calls: list[dict[str, Any]] = []

    def lost_first_response(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        calls.append(payload)
        response = real(function_name, payload)
        if world.sagemaker.describe_endpoint(EndpointName=TARGET.endpoint_name)["EndpointStatus"] == "Updating":
            world.sagemaker.finish_update()
        if len(calls) == 2:  # the rollback finished, but the answer never reached us: the caller retries
            return not_ready("Task timed out")
        return response

    result = cli("rollback", *ARGS, invoke=lost_first_response)

    assert result.code == 0, result.err
    assert [c["deployment_id"] for c in calls] == ["exec-2"] * 3  # pinned: the retry is idempotent
    assert world.pointer() == world.packages["v2"]


def test_the_lambda_invoker_decodes_payloads_and_function_errors() -> None:
    lambda_client = client("lambda")
    stubber = Stubber(lambda_client)
    expected = {
        "FunctionName": "fraud-detection-dev-rollback",
        "InvocationType": "RequestResponse",
        "Payload": b'{"reason": "drill"}',
    }
    error = b'{"errorType": "EndpointNotReady", "errorMessage": "Updating"}'
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": StreamingBody(io.BytesIO(error), len(error))},
        expected,
    )
    ok = b'{"outcome": "rolled_back"}'
    stubber.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(ok), len(ok))}, expected)
    stubber.add_client_error("invoke", service_error_code="ResourceNotFoundException", service_message="nope")
    invoke = lambda_invoker(lambda_client)

    with stubber:
        first = invoke("fraud-detection-dev-rollback", {"reason": "drill"})
        second = invoke("fraud-detection-dev-rollback", {"reason": "drill"})
        with pytest.raises(CliError, match="Lambda function 'fraud-detection-dev-rollback' does not exist"):
            invoke("fraud-detection-dev-rollback", {"reason": "drill"})

    assert first == {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": {"errorType": "EndpointNotReady", "errorMessage": "Updating"},
    }
    assert second == {"StatusCode": 200, "Payload": {"outcome": "rolled_back"}}

"""A dev environment with no traffic runs no paid monitoring job (``processing`` backend, ADR 0020).

The synthesized drift workflow of dev runs in moto's Step Functions interpreter with its real window function
(``lambdas.monitoring.window``, in-process, with the template's environment) over the data-capture bucket in the
layout SageMaker writes (captures of the fraud model made by ``monitoring_job.synthetic``). An hour with no
capture ends at ``NoCaptures`` and creates no processing job; the same workflow over an hour with captures goes on
to the job (the control that shows the test can see a job being started).
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core import DEFAULT_ACCOUNT_ID

from config import DEV, FRAUD_DETECTION
from lambdas.monitoring import window
from monitoring_job.synthetic import capture_lines, fraud_features, generate
from tests.contract.templates import Environment, load_environments
from tests.support.synth import synthesize

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGION = DEV.region
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
WINDOW_HANDLER = "lambdas.monitoring.window.handler"
CONTEXT = SimpleNamespace(
    function_name="window",
    function_version="$LATEST",
    invoked_function_arn=f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:window",
    memory_limit_in_mb=256,
    aws_request_id="offline",
    log_group_name="/aws/lambda/window",
    log_stream_name="offline",
)


def local(text: str) -> str:
    """The deployed names with moto's account in place of dev's."""
    return text.replace(f":{DEV.account}:", f":{DEFAULT_ACCOUNT_ID}:").replace(
        f"-{DEV.account}-", f"-{DEFAULT_ACCOUNT_ID}-"
    )


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    synth = synthesize(tmp_path_factory.mktemp("cdk.out.empty"), environments=[DEV], models=[FRAUD_DETECTION])
    return load_environments(synth.outdir, synth.templates)["dev"]


def capture_destination(dev: Environment) -> tuple[str, str]:
    """Where the serving stack's endpoint config has SageMaker write captures, and its variant's name."""
    ((stack, _, config),) = list(dev.resources("AWS::SageMaker::EndpointConfig"))
    props = config["Properties"]
    uri = local(dev.resolve_str(stack, props["DataCaptureConfig"]["DestinationS3Uri"]))
    return uri, dev.resolve_str(stack, props["ProductionVariants"][0]["VariantName"])


def drift_workflow(dev: Environment) -> tuple[str, dict[str, Any]]:
    """The drift state machine's rendered definition and its window function (name, environment)."""
    ((stack, _, machine),) = [
        (s, lid, r) for s, lid, r in dev.resources("AWS::StepFunctions::StateMachine") if "DriftJob" in lid
    ]
    definition = local(dev.resolve_str(stack, machine["Properties"]["DefinitionString"]))
    ((fn_stack, fn_id, function),) = [
        (s, lid, r)
        for s, lid, r in dev.resources("AWS::Lambda::Function")
        if r["Properties"].get("Handler") == WINDOW_HANDLER
    ]
    variables = dev.resolve(fn_stack, function["Properties"]["Environment"]["Variables"])
    return definition, {
        "name": dev.physical_name(fn_stack, fn_id),
        "environment": {k: local(str(v)) for k, v in variables.items()},
    }


@pytest.fixture
def world(dev: Environment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    definition, function = drift_workflow(dev)
    environment = function["environment"]

    def invoke(  # noqa: PLR0917 - moto's LambdaBackend.invoke signature
        backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        # The real handler in-process, with the deployed environment (moto's Lambda does not run code).
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        window.settings.cache_clear()
        try:
            result = window.handler(json.loads(body), CONTEXT)
        finally:
            for key in environment:
                monkeypatch.delenv(key)
        return json.dumps(result).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config=MOTO_CONFIG):
        session = boto3.session.Session(region_name=REGION)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        s3 = session.client("s3")
        destination, variant = capture_destination(dev)
        capture_bucket = destination.removeprefix("s3://").split("/", 1)[0]
        for bucket in {capture_bucket, environment["REPORTS_BUCKET"]}:
            s3.create_bucket(Bucket=bucket)
        trust = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        }
        session.client("iam").create_role(RoleName="offline-lambda", AssumeRolePolicyDocument=json.dumps(trust))
        lambda_ = session.client("lambda")
        lambda_.create_function(
            FunctionName=function["name"],
            Runtime="python3.12",
            Role=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/offline-lambda",
            Handler=WINDOW_HANDLER,
            Code={"ZipFile": _zip(tmp_path)},
            Environment={"Variables": environment},
        )
        sfn = session.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="drift", definition=definition, roleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/offline-states"
        )["stateMachineArn"]
        yield {
            "session": session,
            "s3": s3,
            "sfn": sfn,
            "arn": arn,
            "destination": destination,
            "variant": variant,
            "endpoint": dev.resolve_str(*_endpoint(dev)),
        }


def _endpoint(dev: Environment) -> tuple[Any, Any]:
    ((stack, _, endpoint),) = list(dev.resources("AWS::SageMaker::Endpoint"))
    return stack, endpoint["Properties"]["EndpointName"]


def _zip(tmp_path: Path) -> bytes:
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("index.py", "def handler(event, context):\n    return event\n")
    return archive.read_bytes()


def put_captures(world: dict[str, Any], hour: str) -> str:
    """An hour of the fraud model's captures where SageMaker writes them for the deployed endpoint config:
    <DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/ (docs/aws-facts.md#data-capture)."""
    features = fraud_features()
    lines = list(capture_lines(features, generate(features, 50, seed=4)))
    bucket, _, prefix = world["destination"].removeprefix("s3://").partition("/")
    key = f"{prefix.strip('/')}/{world['endpoint']}/{world['variant']}/2026/03/02/{hour}/00-00-000-test.jsonl"
    world["s3"].put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())
    return key


def run(world: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The 12:10 schedule's execution (window [11:00, 12:00)): its end and its history."""
    sfn = world["sfn"]
    started = sfn.start_execution(stateMachineArn=world["arn"], input=json.dumps({"time": "2026-03-02T12:10:00Z"}))
    deadline = time.monotonic() + 60
    while (ended := sfn.describe_execution(executionArn=started["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the drift workflow did not end"
        time.sleep(0.2)
    return ended, sfn.get_execution_history(executionArn=started["executionArn"], maxResults=1000)["events"]


def entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_an_hour_without_captures_ends_without_a_processing_job(world: dict[str, Any]) -> None:
    put_captures(world, "09")  # traffic earlier in the day, none in the window
    ended, history = run(world)
    assert ended["status"] == "SUCCEEDED"
    assert entered(history) == ["ListCaptures", "Flatten", "AnyCaptures?", "NoCaptures"]
    assert json.loads(ended["output"])["window"]["object_count"] == 0
    assert world["session"].client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []


def test_an_hour_with_captures_goes_on_to_the_processing_job(world: dict[str, Any]) -> None:
    """The control: the same workflow over an hour with a capture file leaves the choice for the processing job,
    which moto's interpreter cannot run (it has no ``sagemaker:createProcessingJob.sync``), so it fails there."""
    put_captures(world, "11")
    ended, history = run(world)
    assert "NoCaptures" not in entered(history)
    assert ended["status"] == "FAILED"
    (failure,) = [e["executionFailedEventDetails"] for e in history if "executionFailedEventDetails" in e]
    assert "sagemaker:createProcessingJob.sync" in failure.get("cause", "")

"""The on-call CLI against moto: the deployment tests' serving world (``tests/unit/deployment/conftest.py``:
endpoint, packages v1-v3, pointer, FakeSageMaker with UpdateEndpoint) plus what the CLI also reads: the history
table under its deployed name, the retraining state table and state machine, and the model's alarms."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from lambdas.deployment.errors import ConfigurationError, DeploymentError, MalformedRequest
from lambdas.deployment.rollback import rollback
from lambdas.deployment.settings import DeploymentEnv
from tests.contract.recorder import record_call
from tests.support.tables import create_partition_table
from tests.unit.deployment.conftest import (
    ACCOUNT,
    REGION,
    AutoScaling,
    FakeCloudWatch,
    FakeSageMaker,
    World,
    build_world,
    client,
)
from tools.mlops_cli.aws import Clients, Invoke
from tools.mlops_cli.cli import main
from tools.mlops_cli.target import Target, resolve_target

# moto's account stands in for dev's (config/ holds a placeholder account).
ENVIRON = {"MLOPS_DEV_ACCOUNT": ACCOUNT, "MLOPS_DEV_REGION": REGION}
TARGET: Target = resolve_target("dev", "fraud-detection", environ=ENVIRON)
NOW = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
STATE_MACHINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/retraining"


create_table = create_partition_table  # the name this tier's tests use


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    world: World
    stepfunctions: Any = field(default_factory=lambda: client("stepfunctions"))
    cloudwatch: Any = field(default_factory=lambda: client("cloudwatch"))
    sleeps: list[float] = field(default_factory=list)

    @property
    def env(self) -> DeploymentEnv:
        """The deployment functions' environment, with the history table the CDK names."""
        return dataclasses.replace(self.world.env("canary"), history_table=TARGET.history_table)

    def clients(self, invoke: Invoke | None = None) -> Clients:
        def factory(service: str, config: Any = None) -> Any:
            known = {"sagemaker": self.world.sagemaker, "ssm": self.world.ssm, "dynamodb": self.world.dynamodb}
            return known.get(service) or client(service)

        return Clients(factory, invoke=invoke)

    def __call__(self, *argv: str, invoke: Invoke | None = None, sleep: Callable[[float], None] | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        clock = [0.0]

        def fake_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            clock[0] += seconds
            if sleep is not None:
                sleep(seconds)

        code = main(
            list(argv),
            clients=self.clients(invoke),
            environ=ENVIRON,
            sleep=fake_sleep,
            clock=lambda: clock[0],
            now=lambda: NOW,
            stdout=out,
            stderr=err,
        )
        return Run(code=code, out=out.getvalue(), err=err.getvalue())

    # ---- what other stacks would have created ----

    def create_retraining(self) -> str:
        create_table(self.world.dynamodb, TARGET.state_table)
        definition = {"StartAt": "Gate", "States": {"Gate": {"Type": "Pass", "End": True}}}
        arn = self.stepfunctions.create_state_machine(
            name=TARGET.state_machine_name, definition=json.dumps(definition), roleArn=STATE_MACHINE_ROLE
        )["stateMachineArn"]
        return str(arn)

    def alarm(self, name: str, state: str = "OK", reason: str = "fine") -> None:
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    def in_process_rollback(self) -> Invoke:
        """The rollback function as Lambda would run it: the real logic, a JSON round trip, errors as
        ``FunctionError`` with the exception's class name as ``errorType``."""

        def invoke(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
            record_call("lambda", "Invoke", {"FunctionName": function_name}, depth=2)  # for the IAM contract tier
            assert function_name == TARGET.rollback_function
            try:
                result = self.world.run(rollback, json.loads(json.dumps(payload)), self.env)
            except (DeploymentError, MalformedRequest, ConfigurationError) as error:
                body = {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": []}
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body}
            return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}

        return invoke


@pytest.fixture
def cli() -> Iterator[Cli]:
    with mock_aws():
        world = build_world()
        create_table(world.dynamodb, TARGET.history_table)
        yield Cli(world=world)


@pytest.fixture
def empty() -> Iterator[Cli]:
    """An account where nothing of the model is deployed (no tables, endpoint, pointer, state machine)."""
    with mock_aws():
        autoscaling = AutoScaling(client("application-autoscaling"))
        yield Cli(
            world=World(
                sagemaker=FakeSageMaker(client("sagemaker"), autoscaling),
                ssm=client("ssm"),
                dynamodb=client("dynamodb"),
                s3=client("s3"),
                cloudwatch=FakeCloudWatch(),
                autoscaling=autoscaling,
            )
        )

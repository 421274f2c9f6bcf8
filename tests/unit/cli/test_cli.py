"""Exit codes and errors: 0 done, 1 one clear line on stderr, 2 usage. Names agree with the stacks'."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from config import DEV, FRAUD_DETECTION, ModelDeployment
from tests.conftest import ROOT
from tests.unit.cli.conftest import ENVIRON, NOW, TARGET, Cli
from tests.unit.deployment.conftest import client
from tools.mlops_cli.aws import Clients, Identity
from tools.mlops_cli.cli import main

ARGS = ("--env", "dev", "--model", "fraud-detection")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["status"],
        ["status", "--env", "qa", "--model", "fraud-detection"],
        ["status", "--env", "dev", "--model", "churn"],
        ["deploy", *ARGS],
        ["status", *ARGS, "--last", "0"],
        ["rollback", *ARGS, "--timeout", "soon"],
        ["approve", *ARGS],
        ["retrain", *ARGS, "--reason", "x" * 501],
    ],
)
def test_usage_errors_exit_2_without_calling_aws(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    def no_aws(service: str, config: Any = None) -> Any:
        raise AssertionError(f"{service} client created for a usage error")

    assert main(argv, clients=Clients(no_aws), environ=ENVIRON) == 2
    assert "usage: python -m tools.mlops_cli" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollback", "--help"]) == 0
    assert "--poll-interval SECONDS" in capsys.readouterr().out


def test_credentials_for_another_account_are_refused(cli: Cli) -> None:
    out, err = io.StringIO(), io.StringIO()

    code = main(
        ["pause", *ARGS, "--reason", "x"],
        clients=cli.clients(),
        environ={},  # config/'s placeholder account for dev
        stdout=out,
        stderr=err,
        now=lambda: NOW,
    )

    assert (code, out.getvalue()) == (1, "")
    assert err.getvalue() == (
        "error: the credentials are for account 123456789012, but dev is account 111111111111 "
        "(set MLOPS_DEV_ACCOUNT if config/ holds a placeholder)\n"
    )


def test_the_account_flag_names_the_account_without_variables(cli: Cli) -> None:
    cli.create_retraining()
    out, err = io.StringIO(), io.StringIO()

    code = main(
        ["pause", *ARGS, "--reason", "x", "--account", "123456789012"],
        clients=cli.clients(),
        environ={},  # config/'s placeholder account for dev, overridden by the flag
        stdout=out,
        stderr=err,
        now=lambda: NOW,
    )

    assert (code, err.getvalue()) == (0, "")


def test_no_credentials_is_one_line() -> None:
    class NoCredentials:
        def get_caller_identity(self) -> Any:
            raise NoCredentialsError

    err = io.StringIO()
    code = main(["status", *ARGS], clients=Clients(lambda *_, **__: NoCredentials()), environ=ENVIRON, stderr=err)

    assert (code, err.getvalue()) == (1, "error: no AWS credentials found: set AWS_PROFILE or pass --profile\n")


def test_an_aws_error_is_one_line_naming_the_call(cli: Cli) -> None:
    cloudwatch = client("cloudwatch")
    stubber = Stubber(cloudwatch)
    stubber.add_client_error(
        "describe_alarms",
        service_error_code="AccessDenied",
        service_message="User: arn:aws:sts::123456789012:assumed-role/OnCall/alice is not authorized\nto perform it",
    )
    real = cli.clients()

    def factory(service: str, config: Any = None) -> Any:
        return cloudwatch if service == "cloudwatch" else getattr(real, service)

    out, err = io.StringIO(), io.StringIO()
    with stubber:
        code = main(["status", *ARGS], clients=Clients(factory), environ=ENVIRON, stdout=out, stderr=err)

    assert (code, out.getvalue()) == (1, "")
    assert err.getvalue() == (
        "error: DescribeAlarms failed: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/OnCall/alice "
        "is not authorized to perform it\n"
    )


@pytest.mark.parametrize(
    ("arn", "user"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        ("arn:aws:iam::123456789012:user/division/team/alice", "alice"),
        ("arn:aws:sts::123456789012:assumed-role/OnCall/alice@example.com", "OnCall/alice@example.com"),
        ("arn:aws:sts::123456789012:federated-user/bob", "bob"),
        ("arn:aws:iam::123456789012:root", "root"),
    ],
)
def test_the_user_recorded_is_read_from_the_caller_arn(arn: str, user: str) -> None:
    assert Identity(account="123456789012", arn=arn).user == user


def test_names_agree_with_config_and_the_constructs() -> None:
    from mlops_constructs.deployment_history import history_table_name  # noqa: PLC0415 - imports the CDK

    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
    assert TARGET.history_table == history_table_name(deployment)
    assert (TARGET.endpoint_name, TARGET.model_package_group) == (deployment.endpoint_name,) * 2
    assert TARGET.pointer_parameter == "/mlops/fraud-detection/dev/serving-model-package-arn"
    assert TARGET.rollback_function == "fraud-detection-dev-rollback"
    assert (TARGET.state_table, TARGET.state_machine_name) == ("mlops-dev-fraud-detection-retraining",) * 2
    assert TARGET.alarm_prefix == "fraud-detection-dev-"
    assert TARGET.pk == "fraud-detection#dev"


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.mlops_cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("status", "retrain", "approve", "reject", "rollback", "pause", "resume"):
        assert command in done.stdout

"""The tools find the account and region as the app does, and without credentials say so in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from config import DEV
from tests.conftest import ROOT
from tools.aws_access import AccessError, cdk_context, check_account, resolve_environment

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-detection-dev/1"
# Every tool that talks to AWS, on a command that needs it (the on-call CLI's status reads the serving pointer).
TOOLS = {
    "bootstrap_serving": [
        "tools.bootstrap_serving",
        "--env",
        "dev",
        "--model",
        "fraud-detection",
        "--package",
        PACKAGE,
    ],
    "mlops_cli": ["tools.mlops_cli", "status", "--env", "dev", "--model", "fraud-detection"],
    "backfill": ["tools.backfill", "--env", "dev", "--model", "fraud-detection", "--source", "s3://history/2024/"],
}


def test_flags_override_context_which_overrides_the_variables() -> None:
    environ = {"MLOPS_DEV_ACCOUNT": "123456789012", "MLOPS_DEV_REGION": "eu-west-1"}

    assert (resolve_environment("dev", environ=environ, context={}).account, DEV.account) == (
        "123456789012",
        "111111111111",
    )
    from_context = resolve_environment("dev", environ=environ, context={"dev.region": "eu-central-1"})
    assert (from_context.account, from_context.region) == ("123456789012", "eu-central-1")
    from_flags = resolve_environment(
        "dev", account="444455556666", region="ap-southeast-2", environ=environ, context={"dev.region": "eu-central-1"}
    )
    assert (from_flags.account, from_flags.region) == ("444455556666", "ap-southeast-2")


def test_a_bad_account_names_the_field() -> None:
    with pytest.raises(AccessError, match=r"environments\[dev\]\.account: '1234' is not a 12-digit account id"):
        resolve_environment("dev", account="1234", environ={}, context={})


def test_the_context_is_read_from_cdk_json_and_cdk_context_json(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "x", "context": {"dev.account": "123456789012"}}))
    (tmp_path / "cdk.context.json").write_text(json.dumps({"dev.region": "eu-west-1"}))

    env = resolve_environment("dev", environ={}, context=cdk_context(tmp_path))

    assert (env.account, env.region) == ("123456789012", "eu-west-1")


def test_the_repositorys_cdk_json_sets_no_account() -> None:
    """The example ships placeholders: a user's account comes from their flags, context or variables."""
    assert not any(key.endswith((".account", ".region")) for key in cdk_context(ROOT))


def test_credentials_for_another_account_are_refused() -> None:
    with mock_aws():
        sts = boto3.client("sts", region_name="us-east-1")
        with pytest.raises(AccessError, match=r"credentials are for account 123456789012, but dev is account 1111"):
            check_account(sts, DEV)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_without_credentials_a_tool_prints_one_line_and_exits_1(tool: str, tmp_path: Path) -> None:
    """A real process with no credentials anywhere (no variables, no files, no instance metadata)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("PYTEST_CURRENT_TEST",)
    }
    environ |= {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "MLOPS_DEV_ACCOUNT": "123456789012",
    }

    result = subprocess.run(
        [sys.executable, "-m", *TOOLS[tool]], cwd=ROOT, env=environ, capture_output=True, text=True, check=False
    )

    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1, result.stderr
    assert "no AWS credentials found: set AWS_PROFILE or pass --profile" in result.stderr
    assert "Traceback" not in result.stderr

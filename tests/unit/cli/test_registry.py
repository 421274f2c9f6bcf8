"""approve / reject: latest is the newest pending package of the model's group; other groups are refused."""

from __future__ import annotations

import pytest

from tests.unit.cli.conftest import TARGET, Cli
from tools.mlops_cli.errors import CliError
from tools.mlops_cli.registry import REJECTED, set_approval

ARGS = ("--env", "dev", "--model", "fraud-detection")


def approval(cli: Cli, arn: str) -> tuple[str, str]:
    described = cli.world.sagemaker.describe_model_package(ModelPackageName=arn)
    return described["ModelApprovalStatus"], described.get("ApprovalDescription", "")


def test_approve_latest_picks_the_newest_pending_package(cli: Cli) -> None:
    older = cli.world.packages["pending"]
    newest = cli.world.register(status="PendingManualApproval")
    cli.world.register(group="churn-dev", status="PendingManualApproval")  # newer, but another model's

    result = cli("approve", *ARGS, "--package", "latest", "--note", "metrics reviewed")

    assert result.code == 0, result.err
    assert approval(cli, newest) == ("Approved", "metrics reviewed [approved by moto with mlops-cli]")
    assert approval(cli, older)[0] == "PendingManualApproval"
    assert result.out.splitlines()[0] == f"fraud-detection-dev v5 ({newest}): PendingManualApproval -> Approved"


def test_approve_an_arn_without_a_note_and_again(cli: Cli) -> None:
    arn = cli.world.packages["pending"]

    first = cli("approve", *ARGS, "--package", arn, "--json")
    second = cli("approve", *ARGS, "--package", arn)

    assert first.code == 0, first.err
    assert (first.json()["changed"], first.json()["approval"]) == (True, "Approved")
    assert approval(cli, arn) == ("Approved", "approved by moto with mlops-cli")
    assert second.out.endswith("is already Approved; nothing changed\n")


def test_reject_needs_a_note(cli: Cli) -> None:
    arn = cli.world.packages["pending"]

    assert cli("reject", *ARGS, "--package", arn).code == 2
    assert cli("reject", *ARGS, "--package", arn, "--note", " ").code == 2
    with pytest.raises(CliError, match="reject needs a --note"):
        set_approval(
            TARGET,
            sagemaker=cli.world.sagemaker,
            ssm=cli.world.ssm,
            package=arn,
            approval=REJECTED,
            note=None,
            requested_by="alice",
        )
    assert approval(cli, arn)[0] == "PendingManualApproval"

    result = cli("reject", *ARGS, "--package", "latest", "--note", "AUC below the champion on the new fold")

    assert result.code == 0, result.err
    assert approval(cli, arn) == (
        "Rejected",
        "AUC below the champion on the new fold [rejected by moto with mlops-cli]",
    )


def test_a_package_of_another_group_is_refused(cli: Cli) -> None:
    other = cli.world.packages["other-group"]

    result = cli("approve", *ARGS, "--package", other)

    assert result.code == 1
    assert result.err == (
        f"error: model package '{other}' belongs to group 'churn-dev', not to 'fraud-detection-dev' of "
        "fraud-detection in dev\n"
    )
    assert approval(cli, other)[0] == "Approved"


def test_the_serving_package_cannot_be_rejected(cli: Cli) -> None:
    serving = cli.world.packages["v1"]

    result = cli("reject", *ARGS, "--package", serving, "--note", "oops")

    assert result.code == 1
    assert "is the one serving fraud-detection in dev" in result.err
    assert approval(cli, serving)[0] == "Approved"


def test_latest_with_nothing_pending_and_unknown_packages_fail_clearly(cli: Cli) -> None:
    assert cli("approve", *ARGS, "--package", "latest").code == 0  # the one pending package
    nothing = cli("approve", *ARGS, "--package", "latest")
    missing = cli("approve", *ARGS, "--package", f"{cli.world.packages['v1'][:-1]}99")

    assert (nothing.code, nothing.err) == (
        1,
        "error: no model package is PendingManualApproval in group 'fraud-detection-dev' (fraud-detection in dev)\n",
    )
    assert missing.code == 1
    assert missing.err == f"error: model package '{cli.world.packages['v1'][:-1]}99' does not exist\n"
    assert cli("approve", *ARGS, "--package", "v3").code == 2  # neither an ARN nor latest: usage

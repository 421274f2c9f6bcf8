"""Argument parsing, wiring and exit codes of ``python -m tools.mlops_cli``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from config import ENVIRONMENTS, MODELS
from tools.aws_access import AccessError, add_account_arguments, describe_aws_error, session_for
from tools.mlops_cli import registry, render, retraining
from tools.mlops_cli import rollback as rollback_command
from tools.mlops_cli import status as status_command
from tools.mlops_cli.aws import Clients, caller_identity
from tools.mlops_cli.errors import CliError, one_line
from tools.mlops_cli.target import Target, resolve_target

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TEXT_MAX = 500


def _text(value: str) -> str:
    """A free-text option (reason, note): not blank, at most TEXT_MAX characters."""
    value = value.strip()
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    if len(value) > TEXT_MAX:
        raise argparse.ArgumentTypeError(f"at most {TEXT_MAX} characters")
    return value


def _package(value: str) -> str:
    if value == registry.LATEST or registry.PACKAGE_ARN.match(value):
        return value
    raise argparse.ArgumentTypeError(f"'{value}' is neither 'latest' nor a versioned model package ARN")


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is outside [{low}, {high}]")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", required=True, choices=[e.name for e in ENVIRONMENTS], help="environment")
    common.add_argument("--model", required=True, choices=[m.name for m in MODELS], help="model (spec name)")
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    add_account_arguments(common)

    parser = argparse.ArgumentParser(
        prog="python -m tools.mlops_cli",
        description=(
            "On-call commands for one model in one environment. How the serving pointer, the deployment"
            " history and the retraining loop work: docs/architecture.md in the repository."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = commands.add_parser(
        "status", parents=[common], help="serving model, endpoint, deployments, retraining, alarms"
    )
    status.add_argument("--last", type=_count(1, 100), default=5, help="deployments to list (default 5)")

    retrain = commands.add_parser("retrain", parents=[common], help="start the retraining state machine")
    retrain.add_argument("--reason", type=_text, help="why (recorded in the execution input)")

    approve = commands.add_parser("approve", parents=[common], help="approve a model package")
    approve.add_argument("--package", required=True, type=_package, metavar="ARN|latest")
    approve.add_argument("--note", type=_text, help="approval description")

    reject = commands.add_parser("reject", parents=[common], help="reject a model package (needs --note)")
    reject.add_argument("--package", required=True, type=_package, metavar="ARN|latest")
    reject.add_argument("--note", required=True, type=_text, help="why it is rejected")

    rollback = commands.add_parser(
        "rollback", parents=[common], help="restore the version the champion replaced (waits for the endpoint)"
    )
    rollback.add_argument("--reason", type=_text, help="why (recorded in the deployment history)")
    rollback.add_argument(
        "--force",
        action="store_true",
        help="also when what serves was itself restored by a rollback (steps back one more version)",
    )
    rollback.add_argument(
        "--poll-interval", type=_count(1, 600), default=30, metavar="SECONDS", help="between invocations (30)"
    )
    rollback.add_argument(
        "--timeout", type=_count(0, 6 * 3600), default=1800, metavar="SECONDS", help="give up after (1800)"
    )

    pause = commands.add_parser("pause", parents=[common], help="pause retraining (alarms and schedules skip)")
    pause.add_argument("--reason", required=True, type=_text, help="why, for whoever resumes it")

    commands.add_parser("resume", parents=[common], help="resume retraining")
    return parser


def run(
    args: argparse.Namespace,
    target: Target,
    clients: Clients,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    now: Callable[[], datetime],
    progress: Callable[[str], None],
) -> tuple[object, str]:
    """Run the parsed command; returns the result and its human-readable text."""
    identity = caller_identity(clients.sts)
    if identity.account != target.account:
        raise CliError(
            f"the credentials are for account {identity.account}, but {target.environment} is account "
            f"{target.account} (set MLOPS_{target.environment.upper()}_ACCOUNT if config/ holds a placeholder)"
        )
    user = identity.user
    if args.command == "status":
        result: Any = status_command.status(
            target,
            sagemaker=clients.sagemaker,
            ssm=clients.ssm,
            dynamodb=clients.dynamodb,
            stepfunctions=clients.stepfunctions,
            cloudwatch=clients.cloudwatch,
            last=args.last,
        )
        return result, render.status_text(result)
    if args.command == "retrain":
        result = retraining.retrain(
            target,
            stepfunctions=clients.stepfunctions,
            dynamodb=clients.dynamodb,
            requested_by=user,
            reason=args.reason,
            now=now(),
        )
        return result, render.retrain_text(result)
    if args.command in ("approve", "reject"):
        result = registry.set_approval(
            target,
            sagemaker=clients.sagemaker,
            ssm=clients.ssm,
            package=args.package,
            approval=registry.APPROVED if args.command == "approve" else registry.REJECTED,
            note=args.note,
            requested_by=user,
        )
        return result, render.approval_text(result)
    if args.command == "rollback":
        result = rollback_command.rollback(
            target,
            invoke=clients.invoke,
            dynamodb=clients.dynamodb,
            ssm=clients.ssm,
            requested_by=user,
            reason=args.reason,
            poll_seconds=args.poll_interval,
            timeout_seconds=args.timeout,
            sleep=sleep,
            clock=clock,
            progress=progress,
            force=args.force,
        )
        return result, render.rollback_text(result)
    if args.command == "pause":
        result = retraining.pause(target, dynamodb=clients.dynamodb, reason=args.reason, requested_by=user, now=now())
        return result, render.pause_text(result)
    if args.command == "resume":
        result = retraining.resume(target, dynamodb=clients.dynamodb, requested_by=user, now=now())
        return result, render.pause_text(result)
    raise AssertionError(f"unhandled command {args.command}")  # argparse allows only the commands above


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Clients | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Exit code: 0 done, 1 the command failed (one line on stderr says why), 2 usage error."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2), already printed
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        target = resolve_target(
            args.env,
            args.model,
            environ=os.environ if environ is None else environ,
            account=args.account,
            region=args.region,
        )
        if clients is None:
            session = session_for(target.region, profile=args.profile)
            clients = Clients(lambda service, config: session.client(service, config=config))
        result, text = run(
            args,
            target,
            clients,
            sleep=sleep,
            clock=clock,
            now=now,
            progress=lambda message: print(message, file=err, flush=True),
        )
    except (CliError, AccessError) as error:
        print(f"error: {one_line(str(error))}", file=err)
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        print(f"error: {one_line(describe_aws_error(error))}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return 130
    print(render.to_json(result) if args.json else text, file=out)
    return EXIT_OK

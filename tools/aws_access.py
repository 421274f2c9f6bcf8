"""How every tool that talks to AWS finds its account, region and credentials, the way ``app.py`` does.

An environment's account and region come from ``config/`` with the same overrides the app applies
(``config.environments.resolve_environments``), highest first:

1. the tool's flags ``--account`` / ``--region`` (for the one environment the command addresses);
2. CDK context ``<env>.account`` / ``<env>.region`` written in ``cdk.json`` or ``cdk.context.json`` (the
   context a ``cdk deploy`` of this checkout reads; ``-c`` on the cdk command line is not seen by the tools:
   pass the flags or the variables instead);
3. the variables ``MLOPS_<ENV>_ACCOUNT`` / ``MLOPS_<ENV>_REGION``.

Credentials come from the usual chain (``AWS_PROFILE``, ``--profile``, environment variables, SSO, an instance
role) and must be for the environment's account. Without credentials, with credentials for another account, or
when AWS answers with an error, a tool prints ONE line naming the problem and exits 1, never a traceback
(``one_line_aws_errors``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from config import ENVIRONMENTS, Environment, resolve_environments

ROOT = Path(__file__).resolve().parents[1]
CONTEXT_FILES = ("cdk.json", "cdk.context.json")
NO_CREDENTIALS = "no AWS credentials found: set AWS_PROFILE or pass --profile"
EXIT_FAILED = 1


class AccessError(RuntimeError):
    """The tool cannot reach the environment's account; the message is the one line the user sees."""


def cdk_context(root: Path = ROOT) -> dict[str, object]:
    """The context a ``cdk`` command in ``root`` reads from its files (``cdk.context.json`` over ``cdk.json``)."""
    context: dict[str, object] = {}
    for name in CONTEXT_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise AccessError(f"{path} is not JSON: {error}") from None
        values = document.get("context", {}) if name == "cdk.json" else document
        if isinstance(values, dict):
            context.update(values)
    return context


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """``--account``, ``--region`` and ``--profile``, as every AWS-facing tool takes them."""
    parser.add_argument("--account", help="the environment's AWS account (overrides config, context, MLOPS_*)")
    parser.add_argument("--region", help="the environment's AWS region (overrides config, context, MLOPS_*)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")


def resolve_environment(
    name: str,
    *,
    account: str | None = None,
    region: str | None = None,
    environ: Mapping[str, str],
    context: Mapping[str, object] | None = None,
    environments: tuple[Environment, ...] = ENVIRONMENTS,
) -> Environment:
    """Environment ``name`` with the app's overrides, then the flags' (a bad value names the field)."""
    values = cdk_context() if context is None else context
    try:
        resolved = resolve_environments(environments, context=values.get, environ=environ)
        env = next((e for e in resolved if e.name == name), None)
        if env is None:
            raise AccessError(f"no environment '{name}' in config (known: {', '.join(e.name for e in resolved)})")
        return replace(env, account=account or env.account, region=region or env.region)
    except ValueError as error:  # config's validation: the message names the field
        raise AccessError(f"environment {name}: {error}") from None


def session_for(region: str, *, profile: str | None = None) -> Any:
    """A boto3 session in ``region`` (the environment's), with ``profile`` or the usual credential chain."""
    import boto3  # noqa: PLC0415 - only when talking to AWS

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        raise AccessError(str(error)) from None


def check_account(sts: Any, env: Environment) -> str:
    """The caller's account, which must be ``env``'s; returns the caller's ARN."""
    identity = sts.get_caller_identity()
    account = str(identity["Account"])
    if account != env.account:
        raise AccessError(
            f"the credentials are for account {account}, but {env.name} is account {env.account} (pass --account "
            f"or set MLOPS_{env.name.upper()}_ACCOUNT if config/ holds a placeholder)"
        )
    return str(identity["Arn"])


def describe_aws_error(error: BotoCoreError | ClientError) -> str:
    """One line for an error botocore raised: no credentials, no region, or AWS's code and message."""
    if isinstance(error, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(error, NoRegionError):
        return "no AWS region: pass --region or set MLOPS_<ENV>_REGION"
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"{error.operation_name} failed: {detail.get('Code', '')}: {detail.get('Message', '')}"
    return str(error)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def one_line_aws_errors(tool: str, run: Callable[[], int | None], *, errors: tuple[type[Exception], ...] = ()) -> int:
    """Run a tool's body: its own ``errors``, ``AccessError`` and botocore's become one line on stderr and
    exit code 1."""
    handled: tuple[type[Exception], ...] = (AccessError, *errors)
    try:
        return run() or 0
    except handled as error:
        print(f"{tool}: {one_line(str(error))}", file=sys.stderr)
    except (BotoCoreError, ClientError) as error:
        print(f"{tool}: {one_line(describe_aws_error(error))}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{tool}: interrupted", file=sys.stderr)
        return 130
    return EXIT_FAILED

"""Where the demo keeps its state, which account it emulates, and the environment every client of it gets.

Nothing on the user's machine is read or written: the AWS SDKs and CLIs get fake credentials and a config file
under the state directory (``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``, every inherited ``AWS_*``
variable dropped, so a real profile can never be picked up), and the CDK CLI a project-local ``CDK_HOME``. The
CLI caches the account of an access key in ``$CDK_HOME/cache``; the fake access key names the account as well,
so a restarted emulator with another account can never be answered from that cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config import ENVIRONMENTS, Environment, resolve_environments

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_STATE_DIR = ROOT / ".local" / "demo"
HOST = "127.0.0.1"
DEMO_ENVIRONMENT = "dev"
FAKE_SECRET = "demo-secret-not-a-credential"  # noqa: S105 - a fake credential for the local emulator only


def demo_environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The dev environment as the app resolves it (``MLOPS_DEV_ACCOUNT``/``MLOPS_DEV_REGION`` apply)."""
    resolved = resolve_environments(
        ENVIRONMENTS, context=lambda _: None, environ=os.environ if environ is None else environ
    )
    return next(e for e in resolved if e.name == DEMO_ENVIRONMENT)


def fake_access_key(account: str) -> str:
    return f"DEMO{account}"


@dataclass(frozen=True)
class DemoPaths:
    """The state directory's layout (``.local/demo`` by default; git-ignored)."""

    root: Path

    @property
    def server_file(self) -> Path:
        """pid, port, account and region of the running emulator (written once it serves)."""
        return self.root / "server.json"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def aws_config(self) -> Path:
        return self.root / "aws" / "config"

    @property
    def aws_credentials(self) -> Path:
        return self.root / "aws" / "credentials"

    @property
    def cdk_home(self) -> Path:
        return self.root / "cdk-home"

    @property
    def cdk_out(self) -> Path:
        return self.root / "cdk.out"

    @property
    def lambda_code(self) -> Path:
        """Deployed Lambda zips, extracted once per code hash."""
        return self.root / "lambda-code"

    def prepare(self, *, account: str, region: str) -> None:
        """Write the project-local AWS config and credentials files (fake; region only)."""
        self.aws_config.parent.mkdir(parents=True, exist_ok=True)
        self.cdk_home.mkdir(parents=True, exist_ok=True)
        self.aws_config.write_text(f"[default]\nregion = {region}\noutput = json\n")
        self.aws_credentials.write_text(
            f"[default]\naws_access_key_id = {fake_access_key(account)}\naws_secret_access_key = {FAKE_SECRET}\n"
        )


def isolated_environment(
    *, account: str, region: str, paths: DemoPaths, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: this process's environment) without any ``AWS_*``/``CDK_*`` variable, with fake
    credentials and project-local AWS and CDK configuration: no real profile or credential can be read."""
    inherited = os.environ if base is None else base
    env = {k: v for k, v in inherited.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": fake_access_key(account),
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": str(paths.aws_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(paths.aws_credentials),
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_HOME": str(paths.cdk_home),
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
        }
    )
    return env


def client_environment(
    *,
    endpoint_url: str,
    account: str,
    region: str,
    paths: DemoPaths,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The isolated environment pointed at the emulator: for the CDK CLI, the AWS CLI and our tools."""
    port = endpoint_url.rsplit(":", 1)[-1]
    return {
        **isolated_environment(account=account, region=region, paths=paths, base=base),
        "AWS_ENDPOINT_URL": endpoint_url,
        # The CLI builds the TemplateURL it hands CloudFormation from this (it never connects to it); moto
        # reads a TemplateURL as path-style only when its host is "localhost" (moto/cloudformation/utils.py).
        "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{port}",
    }

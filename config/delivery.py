"""The app's own delivery pipeline (ADR 0023): off unless ``DELIVERY`` below is set.

With ``DELIVERY = None`` (the default) the app synthesizes exactly the per-environment stages and nothing else,
and each environment is deployed by hand (``npx cdk deploy 'dev/*'``). Set it to a ``DeliverySettings`` to add the
``delivery`` stack: a self-mutating CDK Pipelines pipeline in a tooling account that builds the repository
(``make test``, then ``cdk synth``) and deploys the environments' stages in the order of ``ENVIRONMENTS``, each into
its own account through the bootstrap trust, with a manual approval before the environments named in
``manual_approval_before``. The README's "Accounts" section has the bootstrap commands.

The pipeline synthesizes the app from the repository alone, so with delivery on every environment's account and
region must be in ``config/environments.py``: an override from CDK context or ``MLOPS_<ENV>_ACCOUNT`` is refused
(``check_delivery``), because the pipeline's own synth would not see it.

Example (the connection is created once in the tooling account's console, which completes the OAuth handshake)::

    DELIVERY = DeliverySettings(
        account="444444444444",
        region="us-east-1",
        connection_arn="arn:aws:codeconnections:us-east-1:444444444444:connection/"
        "0123abcd-4567-89ab-cdef-0123456789ab",
        repository="my-org/sagemaker-mlops-platform",
        branch="main",
    )
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from config.environment import LOG_RETENTION_DAYS, Environment
from config.errors import ConfigError

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# CodeConnections ARNs, in the service's current prefix or the former CodeStar Connections one.
_CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
# owner/name (GitHub, Bitbucket) or group/subgroup/name (GitLab).
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
# A conservative subset of git's ref-name rules: no spaces, no '..', no leading '-' or '/', no trailing '/'.
_BRANCH = re.compile(r"^(?!-)(?!/)(?!.*\.\.)(?!.*/$)[A-Za-z0-9._/-]+$")


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """Where the delivery pipeline runs and what it builds."""

    # The tooling account and region that hold the pipeline (never an environment's own resources).
    account: str
    region: str
    # A CodeConnections (formerly CodeStar Connections) connection to the repository host, by ARN: a plain string,
    # so synth needs no lookup.
    connection_arn: str
    # The repository as the host names it ("owner/name") and the branch whose pushes start the pipeline.
    repository: str
    branch: str = "main"
    # Environments whose deployment waits for a person to approve it in CodePipeline.
    manual_approval_before: tuple[str, ...] = ("prod",)
    # Retention of the pipeline's build logs and expiry of its artifact bucket's access logs.
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account):
            raise ConfigError("delivery.account", f"'{self.account}' is not a 12-digit account id")
        if not _REGION.match(self.region):
            raise ConfigError("delivery.region", f"'{self.region}' is not an AWS region name")
        if not _CONNECTION_ARN.match(self.connection_arn):
            raise ConfigError(
                "delivery.connection_arn",
                f"'{self.connection_arn}' is not a CodeConnections connection ARN "
                "(arn:aws:codeconnections:<region>:<account>:connection/<uuid>)",
            )
        if not _REPOSITORY.match(self.repository):
            raise ConfigError("delivery.repository", f"'{self.repository}' is not 'owner/name'")
        if not _BRANCH.match(self.branch):
            raise ConfigError("delivery.branch", f"'{self.branch}' is not a branch name")
        if len(set(self.manual_approval_before)) != len(self.manual_approval_before):
            raise ConfigError("delivery.manual_approval_before", "names an environment twice")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ConfigError("delivery.log_retention_days", f"must be one of {LOG_RETENTION_DAYS}")


def check_delivery(
    delivery: DeliverySettings, *, configured: Sequence[Environment], resolved: Sequence[Environment]
) -> None:
    """The pipeline can deploy ``resolved``: approvals name environments it deploys, every environment is in the
    pipeline's region, and no account or region comes from an override the pipeline's own synth (which reads only
    the repository) would not see."""
    names = [env.name for env in resolved]
    for name in delivery.manual_approval_before:
        if name not in names:
            raise ConfigError(
                "delivery.manual_approval_before", f"'{name}' is not an environment (environments: {names})"
            )
    for env in resolved:
        if env.region != delivery.region:
            raise ConfigError(
                f"environments[{env.name}].region",
                f"'{env.region}' is not the delivery pipeline's region '{delivery.region}': the pipeline deploys "
                "within its own region only (a cross-region action needs a CodePipeline replication bucket and key "
                "per region, which this project does not provide yet, ADR 0023); keep every environment in the "
                "pipeline's region, or leave delivery off",
            )
    for before, after in zip(configured, resolved, strict=True):
        for attr in ("account", "region"):
            if getattr(before, attr) != getattr(after, attr):
                raise ConfigError(
                    f"environments[{after.name}].{attr}",
                    f"overridden to '{getattr(after, attr)}' from CDK context or MLOPS_{after.name.upper()}_"
                    f"{attr.upper()}, but the delivery pipeline synthesizes from the repository alone: set it in "
                    "config/environments.py instead",
                )


# Off: see the module docstring to turn it on.
DELIVERY: DeliverySettings | None = None

__all__ = ["DELIVERY", "DeliverySettings", "check_delivery"]

"""SageMaker name rules, checked at synth so a bad name fails before CloudFormation sees it.

Limits (SageMaker API reference): endpoint, model package group, feature group, monitoring schedule and
job definition names are at most 63 characters of ``^[a-zA-Z0-9](-*[a-zA-Z0-9])*$``. Feature group names
allow 64, we use the stricter 63 everywhere so one rule covers every derived name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from config.errors import ConfigError

if TYPE_CHECKING:
    from config.environment import Environment

SAGEMAKER_NAME_MAX = 63
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
# Feature names: letters, digits, underscores; must start with a letter (Athena/Glue column rules).
_FEATURE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")


def check_sagemaker_name(field: str, value: str) -> str:
    """Return ``value`` if it is a valid SageMaker resource name, else raise naming ``field``."""
    if len(value) > SAGEMAKER_NAME_MAX:
        raise ConfigError(
            field,
            f"'{value}' is {len(value)} characters; SageMaker allows at most {SAGEMAKER_NAME_MAX}",
        )
    if not _SAGEMAKER_NAME.match(value):
        raise ConfigError(
            field,
            f"'{value}' must be letters, digits and single hyphens, starting and ending with a letter or digit",
        )
    return value


def check_feature_name(field: str, value: str) -> str:
    if not _FEATURE_NAME.match(value):
        raise ConfigError(
            field,
            f"'{value}' must start with a letter and contain only letters, digits and underscores (max 64)",
        )
    return value


def bucket_name(environment: Environment, purpose: str) -> str:
    """``mlops-<env>-<account>-<region>-<purpose>``, e.g. ``mlops-dev-111111111111-us-east-1-datacapture``: the
    platform stack names its buckets so, and the tools find them by it without importing the CDK."""
    return f"mlops-{environment.name}-{environment.account}-{environment.region}-{purpose.lower()}"

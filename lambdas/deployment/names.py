"""Physical names of what a deployment creates, derived deterministically from the deployment id.

Re-invoking a step with the same deployment id therefore finds (and reuses) what an earlier invocation
created instead of creating it again. Names are ``<endpoint>-<digest>-<kind>``: at most 63 characters of
``[a-zA-Z0-9-]`` (SageMaker's limit), the digest being the first 10 hex digits of SHA-256 of the id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lambdas.deployment.settings import Strategy

SAGEMAKER_NAME_MAX = 63
DIGEST_LENGTH = 10
_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9-]+")
_TAG_NOT_ALLOWED = re.compile(r"[^\w.:/=+\-@ ]+")


def digest(deployment_id: str) -> str:
    return hashlib.sha256(deployment_id.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def resource_name(endpoint_name: str, deployment_id: str, kind: str) -> str:
    suffix = f"-{digest(deployment_id)}-{kind}"
    base = _NOT_ALLOWED.sub("-", endpoint_name)[: SAGEMAKER_NAME_MAX - len(suffix)].strip("-") or "mlops"
    return f"{base}{suffix}"


def tag_value(text: str) -> str:
    """A SageMaker tag value (letters, digits, spaces and ``_.:/=+-@``, at most 256 characters)."""
    return _TAG_NOT_ALLOWED.sub("_", text)[:256]


@dataclass(frozen=True, kw_only=True)
class DeploymentNames:
    model: str  # the candidate's Model
    deploy_config: str  # what ``deploy`` moves the endpoint to
    final_config: str  # single-variant config with the candidate as the stable variant (== deploy_config
    #                    for the guardrail strategies; the collapse target of shadow and ab)


def deployment_names(endpoint_name: str, deployment_id: str, strategy: Strategy) -> DeploymentNames:
    final = resource_name(endpoint_name, deployment_id, "c")
    staged = {Strategy.SHADOW: "sh", Strategy.AB: "ab"}.get(strategy)
    return DeploymentNames(
        model=resource_name(endpoint_name, deployment_id, "m"),
        deploy_config=resource_name(endpoint_name, deployment_id, staged) if staged else final,
        final_config=final,
    )


def rollback_names(endpoint_name: str, deployment_id: str) -> tuple[str, str]:
    """(model, config) re-created by a rollback when the pinned config no longer exists."""
    return resource_name(endpoint_name, deployment_id, "rm"), resource_name(endpoint_name, deployment_id, "rc")

"""``approve`` and ``reject``: set a model package's approval status in this model's package group.

An approval is what the retraining loop waits for in environments with manual approval (the registry's state
change event completes the wait); a rejection ends that run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tools.mlops_cli.errors import CliError, error_code
from tools.mlops_cli.target import Target

LATEST = "latest"
APPROVED = "Approved"
REJECTED = "Rejected"
PENDING = "PendingManualApproval"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/[A-Za-z0-9\-]{1,63}/\d+$")
_DESCRIPTION_MAX = 1024  # UpdateModelPackage ApprovalDescription


@dataclass(frozen=True, kw_only=True)
class Package:
    arn: str
    group: str
    version: int | None
    approval: str
    created: datetime | None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class ApprovalResult:
    package: Package
    previous_approval: str
    approval: str
    description: str
    changed: bool


def package_version(arn: str) -> int | None:
    tail = arn.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def describe_package(sagemaker: Any, arn: str) -> Package | None:
    try:
        response = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error_code(error) in ("ValidationException", "ResourceNotFound"):
            return None
        raise
    return Package(
        arn=str(response["ModelPackageArn"]),
        group=str(response.get("ModelPackageGroupName", "")),
        version=response.get("ModelPackageVersion", package_version(arn)),
        approval=str(response.get("ModelApprovalStatus", "")),
        created=response.get("CreationTime"),
        description=str(response.get("ApprovalDescription", "")),
    )


def resolve_package(target: Target, *, sagemaker: Any, package: str) -> Package:
    """``package`` is a versioned package ARN of this model's group, or ``latest``: the newest package waiting
    for manual approval in the group."""
    group = target.model_package_group
    if package == LATEST:
        pages = sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group, ModelApprovalStatus=PENDING, SortBy="CreationTime", SortOrder="Descending"
        )
        summaries = [s for page in pages for s in page.get("ModelPackageSummaryList", [])]
        if not summaries:
            raise CliError(f"no model package is {PENDING} in group '{group}' ({target.label})")
        # Newest by creation time; versions only grow within a group, so they break a tie.
        newest = max(summaries, key=lambda s: (s["CreationTime"], s.get("ModelPackageVersion", 0)))
        package = str(newest["ModelPackageArn"])
    elif not PACKAGE_ARN.match(package):
        raise CliError(f"'{package}' is not a versioned model package ARN (or 'latest')")
    found = describe_package(sagemaker, package)
    if found is None:
        raise CliError(f"model package '{package}' does not exist")
    if found.group != group:
        raise CliError(
            f"model package '{package}' belongs to group '{found.group}', not to '{group}' of {target.label}"
        )
    return found


def set_approval(
    target: Target,
    *,
    sagemaker: Any,
    ssm: Any,
    package: str,
    approval: str,
    note: str | None,
    requested_by: str,
) -> ApprovalResult:
    """Approve or reject. A rejection needs a note, and the package that serves cannot be rejected."""
    if approval not in (APPROVED, REJECTED):
        raise ValueError(f"approval must be {APPROVED} or {REJECTED}, not {approval!r}")
    note = (note or "").strip()
    if approval == REJECTED and not note:
        raise CliError("reject needs a --note: say why the package is rejected")
    found = resolve_package(target, sagemaker=sagemaker, package=package)
    if approval == REJECTED and found.arn == serving_arn(ssm, target):
        raise CliError(
            f"model package '{found.arn}' is the one serving {target.label} ({target.pointer_parameter}); "
            "roll back first, then reject it"
        )
    verb = "approved" if approval == APPROVED else "rejected"
    suffix = f" [{verb} by {requested_by} with mlops-cli]"
    description = f"{note[: _DESCRIPTION_MAX - len(suffix)]}{suffix}" if note else suffix.strip(" []")
    if found.approval == approval:
        return ApprovalResult(
            package=found,
            previous_approval=found.approval,
            approval=approval,
            description=found.description,
            changed=False,
        )
    sagemaker.update_model_package(
        ModelPackageArn=found.arn, ModelApprovalStatus=approval, ApprovalDescription=description
    )
    return ApprovalResult(
        package=found, previous_approval=found.approval, approval=approval, description=description, changed=True
    )


def serving_arn(ssm: Any, target: Target) -> str | None:
    """The package ARN the serving pointer names, or None when the pointer does not exist yet."""
    try:
        return str(ssm.get_parameter(Name=target.pointer_parameter)["Parameter"]["Value"])
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return None
        raise

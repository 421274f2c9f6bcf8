"""Model registry, serving pointer and pipeline executions: the reads the retraining functions share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lambdas.retraining.errors import ChampionUnresolved, MalformedRequest, PackageNotFound, PackageNotInGroup
from lambdas.shared.observability import logger
from lambdas.shared.pointer import read_pointer

APPROVED = "Approved"
REJECTED = "Rejected"
PENDING = "PendingManualApproval"

SUCCEEDED = "Succeeded"
# Terminal pipeline execution statuses; every one but Succeeded fails the wait (error PipelineFailed).
TERMINAL = (SUCCEEDED, "Failed", "Stopped", "CompletedWithFailures")

_NOT_FOUND = ("ValidationException", "ResourceNotFound")


# ---- serving pointer and champion ----


@dataclass(frozen=True, kw_only=True)
class Champion:
    package_arn: str  # "" = none (first run)
    model_data_url: str  # "" = none: the pipeline's ChampionModelUri, "" means "no champion"


NO_CHAMPION = Champion(package_arn="", model_data_url="")


def resolve_champion(sagemaker: Any, ssm: Any, parameter: str) -> Champion:
    """The serving package and its model artifact; ``NO_CHAMPION`` without pointer or without that package."""
    arn = read_pointer(ssm, parameter)
    if arn is None:
        logger.info("no serving pointer: first run, no champion", extra={"parameter": parameter})
        return NO_CHAMPION
    try:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] not in _NOT_FOUND:
            raise
        logger.warning("the serving pointer names a package the registry does not have", extra={"package": arn})
        return NO_CHAMPION
    url = model_data_url(package)
    if not url:
        # A champion serves but cannot be evaluated: comparing against nothing would let a worse model through.
        raise ChampionUnresolved(f"serving model package {arn} has no model data URL in InferenceSpecification")
    return Champion(package_arn=arn, model_data_url=url)


def model_data_url(package: Mapping[str, Any]) -> str:
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    first = containers[0]
    url = first.get("ModelDataUrl") or first.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri")
    return str(url) if url else ""


# ---- packages ----


def describe_package(sagemaker: Any, arn: str, group: str) -> dict[str, Any]:
    """The package's description if it exists and belongs to ``group``; else a typed error."""
    try:
        package: dict[str, Any] = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] in _NOT_FOUND:
            raise PackageNotFound(f"model package {arn} does not exist in the registry") from None
        raise
    found = package.get("ModelPackageGroupName")
    if found != group:
        raise PackageNotInGroup(f"model package {arn} belongs to group '{found}', not to '{group}'")
    return package


def find_candidate(
    sagemaker: Any, *, group: str, pipeline_name: str, execution_id: str, execution_arn: str, started: datetime
) -> str | None:
    """The package the execution registered in ``group``, newest first among those created since it started.

    A package names its execution in ``MetadataProperties.GeneratedBy`` (``<pipeline>/<execution id>``, or
    the execution ARN) or ``CustomerMetadataProperties.pipeline_execution_id`` / ``pipeline_execution_arn``.
    Packages naming another execution are skipped. If none names this one (a registry that does not return
    the metadata), the newest PendingManualApproval package without any execution metadata is taken.
    """
    marks = {execution_arn, execution_id, f"{pipeline_name}/{execution_id}"}
    fallback: str | None = None
    for summary in _packages_since(sagemaker, group, started - timedelta(seconds=1)):
        arn = str(summary["ModelPackageArn"])
        package = sagemaker.describe_model_package(ModelPackageName=arn)
        custom = package.get("CustomerMetadataProperties") or {}
        names = {
            package.get("MetadataProperties", {}).get("GeneratedBy"),
            custom.get("pipeline_execution_id"),
            custom.get("pipeline_execution_arn"),
        } - {None, ""}
        if names & marks:
            return arn
        if not names and fallback is None and package.get("ModelApprovalStatus") == PENDING:
            fallback = arn
    if fallback is not None:
        logger.warning(
            "no package names the execution in its metadata; taking the newest pending one created after it started",
            extra={"package": fallback, "pipeline_execution_arn": execution_arn},
        )
    return fallback


def _packages_since(sagemaker: Any, group: str, after: datetime) -> Iterator[Mapping[str, Any]]:
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "CreationTimeAfter": after,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    while True:
        response = sagemaker.list_model_packages(**request)
        yield from response.get("ModelPackageSummaryList", [])
        token = response.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


# ---- pipeline executions ----


@dataclass(frozen=True, kw_only=True)
class PipelineExecution:
    arn: str
    status: str
    failure_reason: str
    created: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def describe_execution(sagemaker: Any, arn: str) -> PipelineExecution:
    try:
        response = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] in _NOT_FOUND:
            raise MalformedRequest(f"pipeline_execution_arn: no pipeline execution {arn}") from None
        raise
    created = response.get("CreationTime")
    return PipelineExecution(
        arn=arn,
        status=str(response.get("PipelineExecutionStatus", "")),
        failure_reason=str(response.get("FailureReason") or ""),
        created=created if isinstance(created, datetime) else None,
    )


def failure_cause(execution: PipelineExecution) -> str:
    return (
        f"pipeline execution {execution.arn} ended {execution.status}: "
        f"{execution.failure_reason or 'SageMaker gave no failure reason'}"
    )

"""Model registry and serving pointer: package validation, the SSM pointer, the champion tag."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment.errors import PackageNotApproved, PackageNotFound, PackageNotInGroup

APPROVED = "Approved"
CHAMPION_TAG = "mlops:champion"


def approved_package(sagemaker: Any, arn: str, group: str) -> dict[str, Any]:
    """The package's description if it exists, belongs to ``group`` and is Approved; else a typed error."""
    try:
        package: dict[str, Any] = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            raise PackageNotFound(f"model package {arn} does not exist in the registry") from None
        raise
    found_group = package.get("ModelPackageGroupName")
    if found_group != group:
        raise PackageNotInGroup(f"model package {arn} belongs to group '{found_group}', not to '{group}'")
    status = package.get("ModelApprovalStatus")
    if status != APPROVED:
        raise PackageNotApproved(
            f"model package {arn} is '{status}', not '{APPROVED}': approve it in the registry first"
        )
    return package


def write_pointer(ssm: Any, parameter: str, package_arn: str) -> None:
    ssm.put_parameter(Name=parameter, Value=package_arn, Type="String", Overwrite=True)


def move_champion_tag(sagemaker: Any, *, to_arn: str, from_arn: str | None) -> None:
    """Tag ``to_arn`` as champion and untag ``from_arn`` (both idempotent)."""
    sagemaker.add_tags(ResourceArn=to_arn, Tags=[{"Key": CHAMPION_TAG, "Value": "true"}])
    if from_arn and from_arn != to_arn:
        sagemaker.delete_tags(ResourceArn=from_arn, TagKeys=[CHAMPION_TAG])

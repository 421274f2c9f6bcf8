"""Helpers for reading synthesized CloudFormation templates in assertions."""

from __future__ import annotations

from typing import Any

# What SageMaker needs on "*" to attach a job or model to the VPC (docs/aws-facts.md#sagemaker-in-a-vpc).
SAGEMAKER_VPC_DESCRIBES = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSecurityGroups",
}


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def one_resource(template: dict[str, Any], type_: str, **match: Any) -> tuple[str, dict[str, Any]]:
    """The single resource of ``type_`` whose properties contain every ``match`` item."""
    found = [
        (k, v)
        for k, v in resources_of_type(template, type_).items()
        if all(v.get("Properties", {}).get(key) == value for key, value in match.items())
    ]
    assert len(found) == 1, f"expected one {type_} matching {match}, found {[k for k, _ in found]}"
    return found[0]


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource.get("Properties", {}).get("Tags", [])
    if isinstance(tags, dict):  # some types (e.g. SSM parameters) take a map
        return dict(tags)
    return {t["Key"]: t["Value"] for t in tags}

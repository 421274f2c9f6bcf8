"""Helpers for cdk-nag acknowledgements, whose ids name resources by logical ID."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import region_info
from constructs import IConstruct


def logical_id(construct: IConstruct) -> str:
    """The logical ID of an L2's underlying CloudFormation resource, as cdk-nag prints it in finding ids."""
    element = cast(cdk.CfnElement, construct.node.default_child)
    return cdk.Stack.of(construct).get_logical_id(element)


def object_finding(scope: IConstruct, bucket_name: str, pattern: str) -> str:
    """The IAM5 finding id cdk-nag prints for object ARNs ``pattern`` in a bucket known by name (the partition
    is a literal because every stack here has a concrete region)."""
    partition = region_info.RegionInfo.get(cdk.Stack.of(scope).region).partition or "aws"
    return f"AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{bucket_name}/{pattern}]"

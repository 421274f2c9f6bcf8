"""Helpers for cdk-nag acknowledgements, whose ids name resources by logical ID."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from constructs import IConstruct


def logical_id(construct: IConstruct) -> str:
    """The logical ID of an L2's underlying CloudFormation resource, as cdk-nag prints it in finding ids."""
    element = cast(cdk.CfnElement, construct.node.default_child)
    return cdk.Stack.of(construct).get_logical_id(element)

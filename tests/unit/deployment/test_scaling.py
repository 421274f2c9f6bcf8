"""Autoscaling around an update that changes a scaled variant's instance type (defect: SageMaker fails such an
update while the variant is a scalable target, so a rollback across an instance-type change could never finish).

The world: the endpoint's ``primary`` variant is registered with Application Auto Scaling (moto), with a target
tracking policy and a scheduled action, as the serving stack registers it; ``FakeSageMaker`` fails an update
that changes a registered variant's instance type, as SageMaker does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.deployment import scaling
from lambdas.deployment.history import HistoryStore
from lambdas.deployment.rollback import rollback
from tests.unit.deployment.conftest import ENDPOINT, INITIAL_CONFIG, INITIAL_MODEL, TABLE, World
from tests.unit.deployment.support import deploy_and_promote, rollback_until_done

RESOURCE = f"endpoint/{ENDPOINT}/variant/primary"
IDENTITY = {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE, "ScalableDimension": scaling.DIMENSION}
POLICY = {
    "PolicyName": "InvocationsPerInstance",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 300.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    },
}
NIGHT = {
    "ScheduledActionName": "idle-at-night",
    "Schedule": "cron(0 22 * * ? *)",
    "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
    "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1},
}
CFN_CONFIG = "fraud-detection-dev-config-xlarge"


def scaled(world: World) -> None:
    """The variant as the serving stack registers it: bounds, target tracking, and a scheduled action."""
    world.autoscaling.register_scalable_target(**IDENTITY, MinCapacity=2, MaxCapacity=4)
    world.autoscaling.put_scaling_policy(**IDENTITY, **POLICY)
    world.autoscaling.put_scheduled_action(**IDENTITY, **NIGHT)
    world.autoscaling.calls.clear()


def scaling_of(world: World) -> dict[str, Any]:
    target = world.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])
    policies = world.autoscaling.describe_scaling_policies(**IDENTITY)["ScalingPolicies"]
    actions = world.autoscaling.describe_scheduled_actions(**IDENTITY)["ScheduledActions"]
    return {
        "bounds": [(t["MinCapacity"], t["MaxCapacity"]) for t in target["ScalableTargets"]],
        "policies": [
            (p["PolicyName"], p["PolicyType"], p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
            for p in policies
        ],
        "actions": [(a["ScheduledActionName"], a["Schedule"], a["ScalableTargetAction"]) for a in actions],
    }


def cloudformation_moves_to_xlarge(world: World) -> None:
    """The documented three deploys of an instance-type change by CloudFormation (autoscaling off, new type,
    autoscaling on), done here directly: the endpoint now serves the same model on ml.m5.xlarge, scaled again."""
    raw = world.sagemaker._client
    live = raw.describe_endpoint_config(EndpointConfigName=world.sagemaker.endpoint_config_name())
    variant = {**live["ProductionVariants"][0], "InstanceType": "ml.m5.xlarge"}
    raw.create_endpoint_config(
        EndpointConfigName=CFN_CONFIG,
        ProductionVariants=[
            {k: variant[k] for k in ("VariantName", "ModelName", "InstanceType", "InitialInstanceCount")}
        ],
    )
    world.autoscaling.deregister_scalable_target(**IDENTITY)
    world.sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=CFN_CONFIG)
    world.sagemaker.finish_update()
    scaled(world)


def history(world: World) -> HistoryStore:
    return HistoryStore(dynamodb=world.dynamodb, table=TABLE, model_name="fraud-detection", environment="dev")


def test_rollback_across_an_instance_type_change_suspends_and_restores_the_scaling(world: World) -> None:
    scaled(world)
    env = world.env("canary")
    deploy_and_promote(world, env, "exec-1", "v2")  # on ml.m5.large, like the config it replaced
    cloudformation_moves_to_xlarge(world)
    before = scaling_of(world)

    rollback_until_done(world, env, {"deployment_id": "exec-1", "reason": "complaints"})

    # back on the pinned ml.m5.large config, scaled exactly as before
    assert world.sagemaker.endpoint_config_name() == INITIAL_CONFIG
    assert (
        scaling_of(world)
        == before
        == {
            "bounds": [(2, 4)],
            "policies": [("InvocationsPerInstance", "TargetTrackingScaling", 300.0)],
            "actions": [("idle-at-night", "cron(0 22 * * ? *)", {"MinCapacity": 1, "MaxCapacity": 1})],
        }
    )
    assert world.autoscaling.calls == [
        "deregister_scalable_target",
        "register_scalable_target",
        "put_scaling_policy",
        "put_scheduled_action",
    ]
    assert history(world).get("exec-1").suspended_scaling == ""  # the record is cleared once restored


def test_without_the_suspension_sagemaker_refuses_the_update(world: World) -> None:
    scaled(world)
    cloudformation_moves_to_xlarge(world)
    with pytest.raises(ClientError, match="registered with Application Auto Scaling"):
        world.sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=INITIAL_CONFIG)


def test_a_retry_after_a_crash_between_deregistering_and_updating_loses_nothing(world: World) -> None:
    scaled(world)
    env = world.env("canary")
    deploy_and_promote(world, env, "exec-1", "v2")
    cloudformation_moves_to_xlarge(world)
    before = scaling_of(world)
    update = world.sagemaker.update_endpoint

    def throttled(**params: Any) -> Any:
        world.sagemaker.update_endpoint = update  # type: ignore[method-assign]  # once
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "UpdateEndpoint")

    world.sagemaker.update_endpoint = throttled  # type: ignore[method-assign]
    with pytest.raises(ClientError, match="Rate exceeded"):
        world.run(rollback, {"deployment_id": "exec-1"}, env)
    assert scaling_of(world)["bounds"] == []  # deregistered; the record is on the history item
    assert scaling.decode(history(world).get("exec-1").suspended_scaling)[0].min_capacity == 2

    rollback_until_done(world, env, {"deployment_id": "exec-1"})

    assert world.sagemaker.endpoint_config_name() == INITIAL_CONFIG
    assert scaling_of(world) == before


def test_an_update_on_the_same_instance_type_leaves_the_scaling_alone(world: World) -> None:
    scaled(world)
    before = scaling_of(world)
    env = world.env("canary")

    deploy_and_promote(world, env, "exec-1", "v2")
    rollback_until_done(world, env, {"deployment_id": "exec-1"})

    assert world.autoscaling.calls == []
    assert scaling_of(world) == before


def test_variants_to_suspend_are_those_whose_instance_type_changes_or_that_go_away() -> None:
    live = {
        "ProductionVariants": [
            {"VariantName": "primary", "InstanceType": "ml.m5.xlarge"},
            {"VariantName": "challenger", "InstanceType": "ml.m5.xlarge"},
            {"VariantName": "steady", "InstanceType": "ml.m5.large"},
        ]
    }
    target = {
        "ProductionVariants": [
            {"VariantName": "primary", "InstanceType": "ml.m5.large", "ModelName": INITIAL_MODEL},
            {"VariantName": "steady", "InstanceType": "ml.m5.large"},
        ]
    }
    assert scaling.variants_to_suspend(live, target) == ["primary", "challenger"]


def test_a_record_survives_the_history_item_round_trip() -> None:
    record = (
        scaling.SuspendedTarget(
            variant="primary",
            min_capacity=2,
            max_capacity=4,
            suspended_state={"DynamicScalingInSuspended": False},
            policies=(POLICY,),
            scheduled_actions=({**NIGHT, "StartTime": NIGHT["StartTime"].isoformat()},),
        ),
    )
    assert scaling.decode(scaling.encode(record)) == record
    assert scaling.encode(()) == ""
    assert scaling.decode("") == ()

"""The estimator on small hand-made template fragments: what the isolated-VPC mode and the idle schedule for dev
endpoints will add (interface endpoints per AZ-hour, scheduled actions on the endpoint's scalable target), what it
does not price, and the assumption overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from config import DEV, CostAssumptions
from tools.cost.assembly import EnvironmentAssembly, Resource
from tools.cost.errors import CostError
from tools.cost.estimate import EnvironmentEstimate, apply_overrides, estimate_environment
from tools.cost.prices import load_prices

PRICES = load_prices("us-east-1")
HOURS = 730
# No traffic-driven usage: only what the fragment itself costs (fixed-request lines are zeroed too).
QUIET = CostAssumptions(
    requests_per_day=0,
    online_entities=0,
    kms_requests_per_day=0,
    s3_put_requests_per_day=0,
    s3_get_requests_per_day=0,
    interface_endpoint_gb_per_month=25.0,
)
TAGS = [{"Key": "mlops:model", "Value": "fraud-detection"}]


def resource(logical_id: str, type_: str, **properties: Any) -> Resource:
    return Resource(stack="fragment", logical_id=logical_id, type=type_, properties=properties)


def estimate(*resources: Resource, assumptions: CostAssumptions = QUIET) -> EnvironmentEstimate:
    assembly = EnvironmentAssembly(name="dev", resources=resources)
    return estimate_environment(assembly, DEV, PRICES, assumptions=assumptions)


def line(result: EnvironmentEstimate, prefix: str) -> Any:
    [found] = [x for x in result.lines if x.item.startswith(prefix)]
    return found


def endpoint(*, scheduled_actions: list[dict[str, Any]] | None = None) -> list[Resource]:
    target: dict[str, Any] = {
        "MinCapacity": 2,
        "MaxCapacity": 4,
        "ResourceId": "endpoint/fraud-detection-dev/variant/primary",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ServiceNamespace": "sagemaker",
    }
    if scheduled_actions is not None:
        target["ScheduledActions"] = scheduled_actions
    return [
        resource(
            "Config",
            "AWS::SageMaker::EndpointConfig",
            ProductionVariants=[{"VariantName": "primary", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
        ),
        resource(
            "Endpoint",
            "AWS::SageMaker::Endpoint",
            EndpointName="fraud-detection-dev",
            EndpointConfigName={"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            Tags=TAGS,
        ),
        resource("Target", "AWS::ApplicationAutoScaling::ScalableTarget", **target),
    ]


def test_interface_endpoints_are_priced_per_az_hour_and_gigabyte() -> None:
    subnets = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]
    result = estimate(
        resource("Sts", "AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=subnets),
        resource("Logs", "AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=subnets),
        resource(
            "SageMakerApi",
            "AWS::EC2::VPCEndpoint",
            VpcEndpointType="Interface",
            SubnetIds=["subnet-1", "subnet-2", "subnet-3"],
        ),
        resource("S3", "AWS::EC2::VPCEndpoint", VpcEndpointType="Gateway", RouteTableIds=[{"Ref": "Table"}]),
    )

    endpoints = line(result, "VPC interface endpoints")
    # 2 + 2 + 3 AZ attachments, each 730 h at 0.01; 25 GB processed at 0.01. The gateway endpoint is free.
    assert endpoints.usd == pytest.approx((2 + 2 + 3) * HOURS * 0.01 + 25 * 0.01)
    assert endpoints.model == "platform"
    assert not [n for n in result.notes if "VPCEndpoint" in n]


def test_interface_endpoint_subnets_must_be_countable() -> None:
    with pytest.raises(CostError, match="VPC endpoint Sts: its subnets must be a list"):
        estimate(
            resource(
                "Sts",
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                SubnetIds={"Fn::Split": [",", {"Fn::ImportValue": "subnets"}]},
            )
        )


def test_endpoint_without_schedule_runs_its_minimum_all_month() -> None:
    result = estimate(*endpoint())

    assert line(result, "endpoint fraud-detection-dev/primary").usd == pytest.approx(2 * 0.115 * HOURS)


def test_idle_schedule_on_the_scalable_target_lowers_the_endpoint_cost() -> None:
    # The dev idle schedule: down to 1 instance at 19:00 on weekdays, back to 2-4 at 07:00 (New York time).
    actions = [
        {
            "ScheduledActionName": "idle",
            "Schedule": "cron(0 19 ? * MON-FRI *)",
            "Timezone": "America/New_York",
            "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1},
        },
        {
            "ScheduledActionName": "working-hours",
            "Schedule": "cron(0 7 ? * MON-FRI *)",
            "Timezone": "America/New_York",
            "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 4},
        },
    ]
    result = estimate(*endpoint(scheduled_actions=actions))

    working_hours = 261 * 12  # weekdays of the 365-day reference year x 07:00-19:00
    instance_hours = (working_hours * 2 + (8760 - working_hours) * 1) / 12
    priced = line(result, "endpoint fraud-detection-dev/primary")
    assert priced.usd == pytest.approx(instance_hours * 0.115)
    assert priced.usd < 2 * 0.115 * HOURS
    assert "2 scheduled scaling actions" in priced.usage


def test_traffic_above_the_minimum_sizes_the_endpoint_by_its_scaling_target() -> None:
    policy = resource(
        "Policy",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        ScalingTargetId={"Ref": "Target"},
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "TargetValue": 300,
        },
    )
    # 1,440,000 requests a day = 1,000 a minute: 4 instances at 300 a minute each (within 2-4).
    busy = replace(QUIET, requests_per_day=1_440_000)
    result = estimate(*endpoint(), policy, assumptions=busy)

    assert line(result, "endpoint fraud-detection-dev/primary").usd == pytest.approx(4 * 0.115 * HOURS)


def test_resource_types_it_cannot_price_are_named() -> None:
    result = estimate(resource("Nat", "AWS::EC2::NatGateway", SubnetId="subnet-1"))

    assert "1 x AWS::EC2::NatGateway: not estimated" in result.notes


def test_an_instance_type_without_a_price_is_a_clear_error() -> None:
    [config, *rest] = endpoint()
    config.properties["ProductionVariants"][0]["InstanceType"] = "ml.p5.48xlarge"

    with pytest.raises(CostError, match=r"prices_us_east_1.json has no price 'sagemaker.hosting.ml.p5.48xlarge'"):
        estimate(config, *rest)


def test_assumptions_are_overridden_by_name_with_their_type() -> None:
    changed = apply_overrides(DEV.cost, {"requests_per_day": "50000", "monitoring_job_minutes": "12.5"})

    assert changed.requests_per_day == 50_000
    assert changed.monitoring_job_minutes == 12.5
    with pytest.raises(CostError, match="--assume request_per_day: unknown assumption"):
        apply_overrides(DEV.cost, {"request_per_day": "1"})
    with pytest.raises(CostError, match="expected an integer"):
        apply_overrides(DEV.cost, {"requests_per_day": "lots"})
    with pytest.raises(ValueError, match=r"cost\.requests_per_day"):
        apply_overrides(DEV.cost, {"requests_per_day": "-5"})

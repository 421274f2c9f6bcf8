"""Isolated environments (staging, prod): a VPC without a way to the internet, every Lambda inside it, the endpoints
the platform calls, and nothing of it in public dev (ADR 0016)."""

from __future__ import annotations

from typing import Any

import pytest

from config import ENVIRONMENTS
from mlops_constructs.network import INTERFACE_SERVICES, network_parameter_name
from tests.support.environments import STAGING_IN_EXISTING_VPC
from tests.support.synth import Synthesized

ISOLATED = [env for env in ENVIRONMENTS if env.network.isolated]
PUBLIC = [env for env in ENVIRONMENTS if not env.network.isolated]
# Resource types that give a VPC a way out to the internet.
INTERNET_TYPES = {
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::TransitGatewayAttachment",
    "AWS::EC2::VPCPeeringConnection",
}


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def env_templates(synth: Synthesized, env: str) -> dict[str, dict[str, Any]]:
    return {stack: t for (e, stack), t in synth.templates.items() if e == env}


def policy_scan_lambdas_outside_a_vpc(template: dict[str, Any]) -> list[str]:
    """The check of policy scanners such as checkov's CKV_AWS_117 ("Lambda functions are configured inside a
    VPC"): a function passes only with a VpcConfig that names subnets and security groups."""
    flagged = []
    for name, function in resources(template, "AWS::Lambda::Function").items():
        vpc = function["Properties"].get("VpcConfig") or {}
        if not vpc.get("SubnetIds") or not vpc.get("SecurityGroupIds"):
            flagged.append(name)
    return flagged


@pytest.mark.parametrize("env", [e.name for e in ISOLATED])
def test_no_lambda_of_an_isolated_environment_is_outside_the_vpc(synth: Synthesized, env: str) -> None:
    templates = env_templates(synth, env)
    functions = sum(len(resources(t, "AWS::Lambda::Function")) for t in templates.values())
    assert functions >= 15  # the scan below saw the real app's functions
    assert {stack: policy_scan_lambdas_outside_a_vpc(t) for stack, t in templates.items()} == {
        stack: [] for stack in templates
    }


@pytest.mark.parametrize("env", [e.name for e in PUBLIC])
def test_public_dev_has_no_vpc_and_its_functions_run_outside_one(synth: Synthesized, env: str) -> None:
    for template in env_templates(synth, env).values():
        assert not resources(template, "AWS::EC2::VPC")
        assert not resources(template, "AWS::EC2::VPCEndpoint")
        for function in resources(template, "AWS::Lambda::Function").values():
            assert "VpcConfig" not in function["Properties"]


@pytest.mark.parametrize("env", ISOLATED, ids=lambda e: e.name)
def test_every_function_uses_the_platforms_subnets_and_security_group(synth: Synthesized, env: Any) -> None:
    zones = len(env.network.zones)
    subnet_parameters = {f"subnet-id-{i}" for i in range(zones)}
    for template in env_templates(synth, env.name).values():
        parameters = {
            name: p["Default"] for name, p in template.get("Parameters", {}).items() if "Default" in p
        }
        by_name = {default: name for name, default in parameters.items()}
        for function in resources(template, "AWS::Lambda::Function").values():
            vpc = function["Properties"]["VpcConfig"]
            assert vpc["SubnetIds"] == [
                {"Ref": by_name[network_parameter_name(env.name, what)]} for what in sorted(subnet_parameters)
            ]
            assert vpc["SecurityGroupIds"] == [
                {"Ref": by_name[network_parameter_name(env.name, "security-group-id")]}
            ]


@pytest.mark.parametrize("env", [e.name for e in ISOLATED])
def test_nothing_in_an_isolated_environment_routes_to_the_internet(synth: Synthesized, env: str) -> None:
    for stack, template in env_templates(synth, env).items():
        found = {r["Type"] for r in template["Resources"].values()} & INTERNET_TYPES
        assert not found, f"{stack}: {found}"
        for route in resources(template, "AWS::EC2::Route").values():
            props = route["Properties"]
            assert "DestinationCidrBlock" not in props and "DestinationIpv6CidrBlock" not in props, stack
        for subnet in resources(template, "AWS::EC2::Subnet").values():
            assert subnet["Properties"].get("MapPublicIpOnLaunch") is not True


@pytest.mark.parametrize("env", ISOLATED, ids=lambda e: e.name)
def test_the_vpc_has_one_private_subnet_per_configured_zone_and_flow_logs(synth: Synthesized, env: Any) -> None:
    platform = synth.json(env.name, "platform")
    (vpc_id,) = resources(platform, "AWS::EC2::VPC")
    assert resources(platform, "AWS::EC2::VPC")[vpc_id]["Properties"]["CidrBlock"] == env.network.cidr
    zones = sorted(s["Properties"]["AvailabilityZone"] for s in resources(platform, "AWS::EC2::Subnet").values())
    assert zones == list(env.network.availability_zones(env.region))
    (flow_log,) = resources(platform, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    (log_group_id,) = resources(platform, "AWS::Logs::LogGroup")
    assert "KmsKeyId" in platform["Resources"][log_group_id]["Properties"]


@pytest.mark.parametrize("env", [e.name for e in ISOLATED])
def test_gateway_and_interface_endpoints_for_every_service_the_platform_calls(synth: Synthesized, env: str) -> None:
    platform = synth.json(env, "platform")
    endpoints = resources(platform, "AWS::EC2::VPCEndpoint")
    gateways = [e["Properties"] for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Gateway"]
    interfaces = [e["Properties"] for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert len(gateways) == 2 and len(interfaces) == len(INTERFACE_SERVICES)
    names = sorted(str(p["ServiceName"]) for p in gateways)
    assert [n.rsplit(".", 1)[-1].rstrip("']}") for n in names] == ["dynamodb", "s3"]
    (platform_sg, endpoint_sg) = sorted(
        resources(platform, "AWS::EC2::SecurityGroup"),
        key=lambda k: "Endpoints" in k,
    )
    for properties in interfaces:
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_sg, "GroupId"]}]
    # The endpoints admit the platform's security group on 443, and nothing else.
    ingress = [
        r["Properties"]
        for r in resources(platform, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_sg, "GroupId"]}
    ]
    assert ingress == [
        {
            "GroupId": {"Fn::GetAtt": [endpoint_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "SourceSecurityGroupId": {"Fn::GetAtt": [platform_sg, "GroupId"]},
            "Description": "HTTPS from the platform",
        }
    ]
    assert not platform["Resources"][endpoint_sg]["Properties"].get("SecurityGroupIngress")
    # The platform's group sends only HTTPS out (and talks to itself, for multi-instance jobs).
    egress = platform["Resources"][platform_sg]["Properties"]["SecurityGroupEgress"]
    assert egress == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to the VPC endpoints (no route beyond them)",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


@pytest.mark.parametrize("env", [e.name for e in ISOLATED])
def test_lambda_roles_get_the_narrowed_network_interface_policy_not_the_managed_one(
    synth: Synthesized, env: str
) -> None:
    for stack, template in env_templates(synth, env).items():
        functions = resources(template, "AWS::Lambda::Function")
        if not functions:
            continue
        (policy_id, policy) = next(iter(resources(template, "AWS::IAM::ManagedPolicy").items()))
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        on_star = [s for s in statements if s["Resource"] == "*"]
        assert on_star == [
            {"Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "Effect": "Allow", "Resource": "*"}
        ]
        deletes = next(s for s in statements if "ec2:DeleteNetworkInterface" in s["Action"])
        assert "ec2:Vpc" in deletes["Condition"]["ArnEquals"]
        for function in functions.values():
            role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
            assert {"Ref": policy_id} in role["Properties"]["ManagedPolicyArns"], stack
            assert "AWSLambdaVPCAccessExecutionRole" not in str(role["Properties"]["ManagedPolicyArns"])


def test_an_existing_vpc_is_used_by_its_ids_and_none_is_created(existing_vpc_synth: Synthesized) -> None:
    env = STAGING_IN_EXISTING_VPC
    existing = env.network.existing_vpc
    assert existing is not None
    platform = existing_vpc_synth.json(env.name, "platform")
    assert not resources(platform, "AWS::EC2::VPC") and not resources(platform, "AWS::EC2::Subnet")
    endpoints = resources(platform, "AWS::EC2::VPCEndpoint").values()
    assert {e["Properties"]["VpcId"] for e in endpoints} == {existing.vpc_id}
    gateway_tables = [
        e["Properties"]["RouteTableIds"] for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert gateway_tables == [[s.route_table_id for s in existing.subnets]] * 2
    for (e, stack), template in existing_vpc_synth.templates.items():
        assert policy_scan_lambdas_outside_a_vpc(template) == [], stack
        for function in resources(template, "AWS::Lambda::Function").values():
            assert function["Properties"]["VpcConfig"]["SubnetIds"] == [s.subnet_id for s in existing.subnets]

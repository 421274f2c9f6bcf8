"""Isolated environments (staging, prod): a VPC without a way to the internet, every Lambda inside it, the endpoints
the platform calls, and nothing of it in public dev (ADR 0019)."""

from __future__ import annotations

import json
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
        parameters = {name: p["Default"] for name, p in template.get("Parameters", {}).items() if "Default" in p}
        by_name = {default: name for name, default in parameters.items()}
        for function in resources(template, "AWS::Lambda::Function").values():
            vpc = function["Properties"]["VpcConfig"]
            assert vpc["SubnetIds"] == [
                {"Ref": by_name[network_parameter_name(env.name, what)]} for what in sorted(subnet_parameters)
            ]
            assert vpc["SecurityGroupIds"] == [{"Ref": by_name[network_parameter_name(env.name, "security-group-id")]}]


@pytest.mark.parametrize("env", [e.name for e in ISOLATED])
def test_nothing_in_an_isolated_environment_routes_to_the_internet(synth: Synthesized, env: str) -> None:
    for stack, template in env_templates(synth, env).items():
        found = {r["Type"] for r in template["Resources"].values()} & INTERNET_TYPES
        assert not found, f"{stack}: {found}"
        for route in resources(template, "AWS::EC2::Route").values():
            props = route["Properties"]
            assert "DestinationCidrBlock" not in props, stack
            assert "DestinationIpv6CidrBlock" not in props, stack
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
    assert len(gateways) == 2
    assert len(interfaces) == len(INTERFACE_SERVICES)
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
    assert not resources(platform, "AWS::EC2::VPC")
    assert not resources(platform, "AWS::EC2::Subnet")
    endpoints = resources(platform, "AWS::EC2::VPCEndpoint").values()
    assert {e["Properties"]["VpcId"] for e in endpoints} == {existing.vpc_id}
    gateway_tables = [
        e["Properties"]["RouteTableIds"] for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert gateway_tables == [[s.route_table_id for s in existing.subnets]] * 2
    for (_e, stack), template in existing_vpc_synth.templates.items():
        assert policy_scan_lambdas_outside_a_vpc(template) == [], stack
        for function in resources(template, "AWS::Lambda::Function").values():
            assert function["Properties"]["VpcConfig"]["SubnetIds"] == [s.subnet_id for s in existing.subnets]


# ---- SageMaker: the pipeline's jobs, the endpoint's model, the monitoring jobs ----


def network_refs(template: dict[str, Any], env: str, zones: int) -> tuple[list[Any], list[Any]]:
    """The subnet and security-group references a stack of ``env`` uses (its SSM-typed parameters)."""
    by_default = {p["Default"]: name for name, p in template.get("Parameters", {}).items() if "Default" in p}
    subnets = [{"Ref": by_default[network_parameter_name(env, f"subnet-id-{i}")]} for i in range(zones)]
    return subnets, [{"Ref": by_default[network_parameter_name(env, "security-group-id")]}]


def sagemaker_role_has_eni_permissions(template: dict[str, Any], role_id: str) -> bool:
    actions: set[str] = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                actions.update([found] if isinstance(found, str) else found)
    return {"ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DescribeVpcs"} <= actions


@pytest.mark.parametrize("env", ISOLATED, ids=lambda e: e.name)
def test_the_endpoints_models_run_in_the_vpc(synth: Synthesized, env: Any) -> None:
    serving = synth.json(env.name, "fraud-detection-serving")
    subnets, groups = network_refs(serving, env.name, len(env.network.zones))
    (model,) = resources(serving, "AWS::SageMaker::Model").values()
    assert model["Properties"]["VpcConfig"] == {"Subnets": subnets, "SecurityGroupIds": groups}
    assert sagemaker_role_has_eni_permissions(serving, model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0])
    # The Models the automation creates (prepare, rollback) get the same subnets and group.
    prepare = next(
        f
        for f in resources(serving, "AWS::Lambda::Function").values()
        if "MODEL_SUBNETS" in f["Properties"]["Environment"]["Variables"]
    )
    variables = prepare["Properties"]["Environment"]["Variables"]
    separator, parts = variables["MODEL_SUBNETS"]["Fn::Join"]
    assert separator == ""
    assert parts[1::2] == [","] * (len(subnets) - 1)
    assert parts[::2] == subnets
    assert variables["MODEL_SECURITY_GROUPS"] == groups[0]


def test_public_dev_models_and_jobs_name_no_vpc(synth: Synthesized) -> None:
    for stack in ("fraud-detection-serving", "fraud-detection-training", "fraud-detection-monitoring"):
        assert "VpcConfig" not in json.dumps(synth.json("dev", stack)), stack
        assert "MODEL_SUBNETS" not in json.dumps(synth.json("dev", stack)), stack


@pytest.mark.parametrize("env", ISOLATED, ids=lambda e: e.name)
def test_every_pipeline_job_runs_in_the_vpc(synth: Synthesized, env: Any) -> None:
    training = synth.json(env.name, "fraud-detection-training")
    subnets, groups = network_refs(training, env.name, len(env.network.zones))
    (pipeline,) = resources(training, "AWS::SageMaker::Pipeline").values()
    body, variables = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    assert {name: variables[name] for name in variables if name.startswith(("Subnet", "Security"))} == {
        **{f"Subnet{i}": subnet for i, subnet in enumerate(subnets)},
        "SecurityGroup": groups[0],
    }
    definition = json.loads(body)
    vpc = {"SecurityGroupIds": ["${SecurityGroup}"], "Subnets": [f"${{Subnet{i}}}" for i in range(len(subnets))]}
    jobs = [s for s in definition["Steps"] if s["Type"] in ("Processing", "Training")]
    assert len(jobs) >= 6
    for step in jobs:
        arguments = step["Arguments"]
        found = arguments["NetworkConfig"]["VpcConfig"] if step["Type"] == "Processing" else arguments["VpcConfig"]
        assert found == vpc, step["Name"]
    role_id = pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert sagemaker_role_has_eni_permissions(training, role_id)


@pytest.mark.parametrize("env", ISOLATED, ids=lambda e: e.name)
def test_the_drift_jobs_run_in_the_vpc(synth: Synthesized, env: Any) -> None:
    monitoring = synth.json(env.name, "fraud-detection-monitoring")
    subnets, groups = network_refs(monitoring, env.name, len(env.network.zones))
    text = json.dumps(monitoring)
    # The state machine's definition is a Fn::Join of strings and references: the VpcConfig sits in it.
    assert '\\"VpcConfig\\":{\\"Subnets\\":[\\"",' in text
    for ref in (*subnets, *groups):
        assert json.dumps(ref) in text


def test_the_model_monitor_job_definitions_run_in_the_vpc(model_monitor_synth: Synthesized) -> None:
    monitoring = model_monitor_synth.json("prod", "fraud-detection-monitoring")
    subnets, groups = network_refs(monitoring, "prod", 3)
    definitions = [
        *resources(monitoring, "AWS::SageMaker::DataQualityJobDefinition").values(),
        *resources(monitoring, "AWS::SageMaker::ModelQualityJobDefinition").values(),
    ]
    assert len(definitions) == 2
    for definition in definitions:
        network = definition["Properties"]["NetworkConfig"]
        assert network["VpcConfig"] == {"Subnets": subnets, "SecurityGroupIds": groups}
        assert network["EnableInterContainerTrafficEncryption"] is True
        assert sagemaker_role_has_eni_permissions(monitoring, definition["Properties"]["RoleArn"]["Fn::GetAtt"][0])

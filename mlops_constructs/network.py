"""The isolated network of an environment (ADR 0019).

``PlatformNetwork`` (in the platform stack) holds the VPC: created with one private isolated subnet per configured
zone and no internet or NAT gateway, or imported by the IDs in config (no lookup). It adds

- the platform security group every Lambda, job and endpoint model runs in: egress on 443 only (the subnets have no
  route out, so it reaches only the VPC endpoints) and traffic among its own members (multi-instance jobs);
- the endpoint security group: ingress on 443 from the platform security group, nothing else;
- gateway endpoints for S3 and DynamoDB, and an interface endpoint (private DNS) for every service the platform
  calls (``INTERFACE_SERVICES``);
- flow logs of a created VPC to a KMS-encrypted log group;
- SSM parameters with the IDs the per-model stacks need (``network_parameter_name``).

Per-model stacks read those IDs through ``NetworkAccess`` (SSM-typed template parameters), not through
CloudFormation exports: the pipeline body's ``Fn::Sub`` takes a template parameter in its variable map, and the
platform stack stays free to change (ADR 0005's reasons for buckets apply to the network too).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IConstruct

from config import Environment, NetworkSettings

# Every AWS service the platform's functions, jobs and models call, besides S3 and DynamoDB (gateway endpoints).
# ECR: SageMaker's jobs and models run AWS-owned framework and algorithm images.
INTERFACE_SERVICES: tuple[tuple[str, ec2.InterfaceVpcEndpointAwsService], ...] = (
    ("SageMakerApi", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API),
    ("SageMakerRuntime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME),
    ("FeatureStoreRuntime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_FEATURESTORE_RUNTIME),
    ("Sts", ec2.InterfaceVpcEndpointAwsService.STS),
    ("CloudWatch", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING),
    ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
    ("EventBridge", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE),
    ("StepFunctions", ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS),
    ("Kms", ec2.InterfaceVpcEndpointAwsService.KMS),
    ("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM),
    ("Sns", ec2.InterfaceVpcEndpointAwsService.SNS),
    ("Athena", ec2.InterfaceVpcEndpointAwsService.ATHENA),
    ("Glue", ec2.InterfaceVpcEndpointAwsService.GLUE),
    ("XRay", ec2.InterfaceVpcEndpointAwsService.XRAY),
    ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR),
    ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
)


def network_parameter_name(environment: str, what: str) -> str:
    """``/mlops/<env>/network/<what>``: ``vpc-id``, ``security-group-id``, ``subnet-id-<n>``, ``s3-endpoint-id``."""
    return f"/mlops/{environment}/network/{what}"


def _subnet_mask(cidr: str, zones: int) -> int:
    """The largest equal subnets of ``cidr`` that fit one per zone (2 zones: halves, 3 or 4: quarters)."""
    return int(cidr.split("/")[1]) + (zones - 1).bit_length()


class PlatformNetwork(Construct):
    """The VPC, security groups and endpoints of an isolated environment (``environment.network.isolated``)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        environment: Environment,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        settings = environment.network
        if not settings.isolated:
            raise ValueError("network: a PlatformNetwork is built only for network.mode 'isolated'")
        zones = list(settings.availability_zones(environment.region))
        self.vpc: ec2.IVpc
        if settings.existing_vpc is not None:
            existing = settings.existing_vpc
            self.vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing.vpc_id,
                availability_zones=zones,
                isolated_subnet_ids=[s.subnet_id for s in existing.subnets],
                isolated_subnet_route_table_ids=[s.route_table_id for s in existing.subnets],
            )
        else:
            vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(settings.cidr),
                availability_zones=zones,
                nat_gateways=0,
                create_internet_gateway=False,
                # A custom resource (a Lambda outside the VPC) would be needed to strip the default group's rules;
                # nothing runs in the default group.
                restrict_default_security_group=False,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="Private",
                        subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                        cidr_mask=_subnet_mask(settings.cidr, len(zones)),
                    )
                ],
            )
            # The zones come from config on purpose: synth looks nothing up (Fn::GetAZs would pick them at deploy).
            reason = "The availability zones are given in config (network.zones), so synth makes no lookup."
            for subnet in vpc.isolated_subnets:
                cfn_subnet = subnet.node.default_child
                assert isinstance(cfn_subnet, cdk.CfnResource)
                cfn_subnet.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3010"]}})
                cdk.Validations.of(subnet).acknowledge(
                    cdk.Acknowledgment(id="CloudFormation-Validate::W3010", reason=reason)
                )
            flow_logs = logs.LogGroup(
                self, "FlowLogs", retention=log_retention, encryption_key=key, removal_policy=cdk.RemovalPolicy.DESTROY
            )
            vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
            self.vpc = vpc
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.security_group = ec2.SecurityGroup(
            self,
            "Platform",
            vpc=self.vpc,
            description=f"MLOps {environment.name}: Lambda functions, SageMaker jobs and models",
            allow_all_outbound=False,
        )
        # The subnets have no route out: 443 reaches only the interface endpoints and the gateway endpoints'
        # prefix lists (whose IDs differ per region and would need a lookup).
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the VPC endpoints (no route beyond them)"
        )
        # Instances of one multi-instance job talk to each other (SageMaker's documented requirement).
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_traffic(), "Among its own members")
        self.security_group.add_egress_rule(self.security_group, ec2.Port.all_traffic(), "Among its own members")

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description=f"MLOps {environment.name}: interface VPC endpoints, HTTPS from the platform only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(self.security_group, ec2.Port.tcp(443), "HTTPS from the platform")

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
        )
        self.vpc.add_gateway_endpoint(
            "DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets=[self.subnets]
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            name: self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[self.endpoint_security_group],
                open=False,
                private_dns_enabled=True,
            )
            for name, service in INTERFACE_SERVICES
        }

        subnet_ids = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
        values = {
            "vpc-id": self.vpc.vpc_id,
            "security-group-id": self.security_group.security_group_id,
            "s3-endpoint-id": self.s3_endpoint.vpc_endpoint_id,
            **{f"subnet-id-{i}": subnet_id for i, subnet_id in enumerate(subnet_ids)},
        }
        for what, value in values.items():
            ssm.StringParameter(
                self,
                f"Parameter-{what}",
                parameter_name=network_parameter_name(environment.name, what),
                string_value=value,
                description=f"MLOps {environment.name} isolated network: {what}",
            )


class NetworkAccess(Construct):
    """The isolated network as one per-model stack sees it: IDs from the platform's SSM parameters (or config).

    ``NetworkAccess.of(stack_scope, environment)`` returns the stack's single instance, or None in public mode.
    """

    @classmethod
    def of(cls, scope: Construct, environment: Environment) -> NetworkAccess | None:
        if not environment.network.isolated:
            return None
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child("NetworkAccess")
        if existing is not None:
            assert isinstance(existing, NetworkAccess)
            return existing
        return cls(stack, "NetworkAccess", environment=environment)

    def __init__(self, scope: Construct, id_: str, *, environment: Environment) -> None:
        super().__init__(scope, id_)
        settings: NetworkSettings = environment.network
        stack = cdk.Stack.of(self)

        self._environment_name = environment.name
        parameter = self._parameter

        zones = list(settings.availability_zones(environment.region))
        if settings.existing_vpc is not None:
            self.vpc_id = settings.existing_vpc.vpc_id
            self.subnet_ids: list[str] = [s.subnet_id for s in settings.existing_vpc.subnets]
        else:
            self.vpc_id = parameter("vpc-id")
            self.subnet_ids = [parameter(f"subnet-id-{i}") for i in range(len(zones))]
        self.security_group_id = parameter("security-group-id")
        self.security_group_ids: list[str] = [self.security_group_id]
        self.vpc = ec2.Vpc.from_vpc_attributes(self, "Vpc", vpc_id=self.vpc_id, availability_zones=zones)
        subnets = [
            ec2.Subnet.from_subnet_attributes(self, f"Subnet{i}", subnet_id=subnet_id, availability_zone=zone)
            for i, (subnet_id, zone) in enumerate(zip(self.subnet_ids, zones, strict=True))
        ]
        for subnet in subnets:
            # Functions and jobs only attach to the subnets; routes are the platform stack's business.
            cdk.Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId", "per-model stacks never read the subnets' route tables"
            )
        self.subnets = ec2.SubnetSelection(subnets=subnets)
        self.security_group = ec2.SecurityGroup.from_security_group_id(
            self, "SecurityGroup", self.security_group_id, mutable=False
        )
        self.vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=self.vpc_id)
        self._lambda_policy: iam.ManagedPolicy | None = None

    def _parameter(self, what: str) -> str:
        return ssm.StringParameter.value_for_string_parameter(
            self, network_parameter_name(self._environment_name, what)
        )

    @property
    def s3_endpoint_id(self) -> str:
        """The S3 gateway endpoint's ID (read only where used: an unused template parameter is a lint finding)."""
        return self._parameter("s3-endpoint-id")

    def lambda_policy(self) -> iam.ManagedPolicy:
        """The stack's one policy with what Lambda needs to put a function's network interfaces in the VPC.

        The actions of AWS's ``AWSLambdaVPCAccessExecutionRole`` (docs/aws-facts.md#lambda-in-a-vpc), narrowed:
        the Describe actions have no resource types (``"*"`` only); the others are limited to this account and
        region and, where the service offers the key, to this VPC.
        """
        if self._lambda_policy is None:
            self._lambda_policy = iam.ManagedPolicy(
                self,
                "LambdaVpcAccess",
                description="Lambda creates and deletes the functions' network interfaces in the platform VPC",
                statements=eni_statements(self, vpc_arn=self.vpc_arn, extra=()),
            )
            acknowledge_eni_findings(self._lambda_policy, "Lambda")
        return self._lambda_policy

    def grant_sagemaker_vpc_access(self, role: iam.IRole) -> None:
        """What SageMaker needs in a job's or model's execution role to attach it to the VPC (the actions of the
        SageMaker developer guide's VPC pages, docs/aws-facts.md#sagemaker-in-a-vpc), narrowed like Lambda's."""
        for statement in eni_statements(
            self,
            vpc_arn=self.vpc_arn,
            extra=("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterfacePermission"),
            describe_extra=("ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSecurityGroups"),
        ):
            role.add_to_principal_policy(statement)
        acknowledge_eni_findings(role, "SageMaker")


_DESCRIBE = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")


def eni_statements(
    scope: Construct, *, vpc_arn: str, extra: Sequence[str], describe_extra: Sequence[str] = ()
) -> list[iam.PolicyStatement]:
    stack = cdk.Stack.of(scope)

    def arn(resource: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name="*")

    in_vpc = {"ArnEquals": {"ec2:Vpc": vpc_arn}}
    return [
        iam.PolicyStatement(actions=[*_DESCRIBE, *describe_extra], resources=["*"]),
        # CreateNetworkInterface is authorized against the new interface (no ec2:Vpc key) and against the subnet and
        # security group it names (ec2:Vpc key): two statements, so the condition applies only where it can match.
        iam.PolicyStatement(actions=["ec2:CreateNetworkInterface"], resources=[arn("network-interface")]),
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[arn("subnet"), arn("security-group")],
            conditions=in_vpc,
        ),
        iam.PolicyStatement(
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                *extra,
            ],
            resources=[arn("network-interface")],
            conditions=in_vpc,
        ),
    ]


def acknowledge_eni_findings(construct: IConstruct, service: str) -> None:
    stack = cdk.Stack.of(construct)
    partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
    prefix = f"arn:{partition}:ec2:{stack.region}:{stack.account}"
    reasons = {
        "Resource::*": "ec2:DescribeNetworkInterfaces, ec2:DescribeSubnets (and SageMaker's DescribeVpcs, "
        f"DescribeDhcpOptions, DescribeSecurityGroups): no resource-level permissions; {service} checks the "
        "subnets and interfaces before it attaches to the VPC.",
        f"Resource::{prefix}:network-interface/*": f"{service} names the network interfaces it creates; deletes "
        "and address changes are limited to the platform VPC by the ec2:Vpc condition.",
        f"Resource::{prefix}:subnet/*": "Limited to the platform VPC's subnets by the ec2:Vpc condition.",
        f"Resource::{prefix}:security-group/*": "Limited to the platform VPC's groups by the ec2:Vpc condition.",
    }
    for finding, reason in reasons.items():
        cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))

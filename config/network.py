"""How an environment's functions, jobs and endpoints reach AWS: ``public`` or ``isolated`` (ADR 0019).

``isolated``: everything the platform runs sits in private subnets with no route to the internet, and reaches the
AWS services it calls through VPC endpoints. The VPC is either created by the app (``cidr`` and ``zones``) or an
existing one named by IDs (``existing_vpc``). Either way synth makes no lookup: every ID and availability zone is
in config.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

from config._validate import coerce_enum
from config.errors import ConfigError

_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8}([0-9a-f]{9})?$")
_ZONE_LETTER = re.compile(r"^[a-z]$")


class NetworkMode(StrEnum):
    PUBLIC = "public"  # Lambda's and SageMaker's own networks (the AWS default)
    ISOLATED = "isolated"  # private subnets without a route to the internet, VPC endpoints to AWS services


@dataclass(frozen=True, kw_only=True)
class ExistingSubnet:
    """A private subnet of an existing VPC, with what the app needs to know without a lookup."""

    subnet_id: str  # subnet-0123456789abcdef0
    availability_zone: str  # us-east-1a
    route_table_id: str  # rtb-0123456789abcdef0 (the S3 and DynamoDB gateway endpoints are added to it)

    def __post_init__(self) -> None:
        if not _SUBNET_ID.match(self.subnet_id):
            raise ConfigError("network.existing_vpc.subnets.subnet_id", f"'{self.subnet_id}' is not a subnet id")
        if not _ROUTE_TABLE_ID.match(self.route_table_id):
            raise ConfigError(
                "network.existing_vpc.subnets.route_table_id", f"'{self.route_table_id}' is not a route table id"
            )


@dataclass(frozen=True, kw_only=True)
class ExistingVpc:
    """A VPC the platform does not own. The app adds its security groups and the VPC endpoints to it; the subnets
    must have no route to the internet, and the VPC must not already hold interface endpoints with private DNS for
    the same services (their private hosted zones would clash)."""

    vpc_id: str
    subnets: tuple[ExistingSubnet, ...]

    def __post_init__(self) -> None:
        if not _VPC_ID.match(self.vpc_id):
            raise ConfigError("network.existing_vpc.vpc_id", f"'{self.vpc_id}' is not a VPC id")
        zones = [s.availability_zone for s in self.subnets]
        if len(set(zones)) < 2 or len(zones) != len(set(zones)):
            raise ConfigError(
                "network.existing_vpc.subnets",
                f"give one subnet in each of at least two availability zones, got zones {zones}",
            )
        ids = [s.subnet_id for s in self.subnets]
        if len(ids) != len(set(ids)):
            raise ConfigError("network.existing_vpc.subnets", f"subnet ids repeat: {ids}")


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    mode: NetworkMode = NetworkMode.PUBLIC
    # The VPC the app creates in isolated mode: its address range, and the letters of the region's availability
    # zones to put one private isolated subnet in (region us-east-1 + "a" = us-east-1a). Ignored with existing_vpc.
    cidr: str = "10.80.0.0/16"
    zones: tuple[str, ...] = ("a", "b")
    existing_vpc: ExistingVpc | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", coerce_enum("network.mode", NetworkMode, self.mode))
        if self.mode is NetworkMode.PUBLIC and self.existing_vpc is not None:
            raise ConfigError("network.existing_vpc", "an existing VPC is used only in the 'isolated' mode")
        if len(self.zones) < 2 or len(set(self.zones)) != len(self.zones):
            raise ConfigError("network.zones", f"give at least two different availability zones, got {self.zones}")
        for zone in self.zones:
            if not isinstance(zone, str) or not _ZONE_LETTER.match(zone):
                raise ConfigError("network.zones", f"'{zone}' is not an availability zone letter (a, b, c, ...)")
        try:
            network = ipaddress.IPv4Network(self.cidr)
        except ValueError as error:
            raise ConfigError("network.cidr", f"'{self.cidr}' is not an IPv4 CIDR block: {error}") from None
        # VPCs take /16 to /28; each zone's subnet is a quarter-or-smaller slice, at least a /24.
        if not 16 <= network.prefixlen <= 22:
            raise ConfigError("network.cidr", f"'{self.cidr}' must be a /16 to /22 block")

    @property
    def isolated(self) -> bool:
        return self.mode is NetworkMode.ISOLATED

    def availability_zones(self, region: str) -> tuple[str, ...]:
        """The zones of the private subnets, full names (``us-east-1a``)."""
        if self.existing_vpc is not None:
            return tuple(s.availability_zone for s in self.existing_vpc.subnets)
        return tuple(f"{region}{zone}" for zone in self.zones)

    def check_region(self, field_prefix: str, region: str) -> None:
        """Every availability zone must be one of ``region``'s."""
        for zone in self.availability_zones(region):
            if not re.fullmatch(rf"{re.escape(region)}[a-z]", zone):
                raise ConfigError(
                    f"{field_prefix}.network.existing_vpc.subnets.availability_zone",
                    f"'{zone}' is not an availability zone of {region}",
                )

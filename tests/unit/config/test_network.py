"""Network settings: a bad mode, zone, CIDR or existing VPC fails in config, naming the field."""

from __future__ import annotations

import dataclasses
import re

import pytest

from config import (
    DEV,
    ENVIRONMENTS,
    PROD,
    STAGING,
    ConfigError,
    ExistingSubnet,
    ExistingVpc,
    NetworkMode,
    NetworkSettings,
)


def raises_on(field: str) -> pytest.RaisesExc[ConfigError]:
    return pytest.raises(ConfigError, match=rf"^{re.escape(field)}")


def subnet(n: int, zone: str = "us-east-1a") -> ExistingSubnet:
    return ExistingSubnet(subnet_id=f"subnet-0{n:016x}", availability_zone=zone, route_table_id=f"rtb-0{n:016x}")


def test_the_example_puts_staging_and_prod_in_isolated_vpcs_and_dev_public() -> None:
    # dev stays public: the demo deploys it to the local emulator, which has no VPC endpoints.
    assert {env.name: env.network.mode for env in ENVIRONMENTS} == {
        "dev": NetworkMode.PUBLIC,
        "staging": NetworkMode.ISOLATED,
        "prod": NetworkMode.ISOLATED,
    }
    assert PROD.network.availability_zones(PROD.region) == ("us-east-1a", "us-east-1b", "us-east-1c")


def test_the_mode_is_one_of_the_two() -> None:
    with raises_on("network.mode"):
        NetworkSettings(mode="private")  # type: ignore[arg-type]
    assert NetworkSettings(mode="isolated").mode is NetworkMode.ISOLATED  # type: ignore[arg-type]


@pytest.mark.parametrize("zones", [("a",), ("a", "a"), ("a", "1"), ("a", "us-east-1b")])
def test_a_created_vpc_needs_two_distinct_zone_letters(zones: tuple[str, ...]) -> None:
    with raises_on("network.zones"):
        NetworkSettings(mode=NetworkMode.ISOLATED, zones=zones)


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/16", "not-a-cidr"])
def test_the_cidr_is_a_16_to_22_block(cidr: str) -> None:
    with raises_on("network.cidr"):
        NetworkSettings(mode=NetworkMode.ISOLATED, cidr=cidr)


def test_an_existing_vpc_only_in_isolated_mode() -> None:
    vpc = ExistingVpc(vpc_id="vpc-0123abcd", subnets=(subnet(1), subnet(2, "us-east-1b")))
    with raises_on("network.existing_vpc"):
        NetworkSettings(mode=NetworkMode.PUBLIC, existing_vpc=vpc)


def test_an_existing_vpc_needs_subnets_in_two_zones() -> None:
    with raises_on("network.existing_vpc.subnets"):
        ExistingVpc(vpc_id="vpc-0123abcd", subnets=(subnet(1), subnet(2)))
    with raises_on("network.existing_vpc.subnets"):
        ExistingVpc(vpc_id="vpc-0123abcd", subnets=(subnet(1), subnet(1, "us-east-1b")))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ExistingVpc(vpc_id="vpc-xyz", subnets=()), "network.existing_vpc.vpc_id"),
        (
            lambda: ExistingSubnet(subnet_id="sn-1", availability_zone="us-east-1a", route_table_id="rtb-0123abcd"),
            "network.existing_vpc.subnets.subnet_id",
        ),
        (
            lambda: ExistingSubnet(
                subnet_id="subnet-0123abcd", availability_zone="us-east-1a", route_table_id="table-1"
            ),
            "network.existing_vpc.subnets.route_table_id",
        ),
    ],
)
def test_existing_ids_have_their_shapes(build: object, field: str) -> None:
    with raises_on(field):
        build()  # type: ignore[operator]


def test_existing_subnets_must_be_in_the_environments_region() -> None:
    vpc = ExistingVpc(vpc_id="vpc-0123abcd", subnets=(subnet(1, "eu-west-1a"), subnet(2, "eu-west-1b")))
    with raises_on("environments[staging].network.existing_vpc.subnets.availability_zone"):
        dataclasses.replace(STAGING, network=NetworkSettings(mode=NetworkMode.ISOLATED, existing_vpc=vpc))


def test_zone_letters_follow_a_region_override() -> None:
    # resolve_environments may move an environment to another region: the created VPC's zones move with it.
    moved = dataclasses.replace(PROD, region="eu-west-1")
    assert moved.network.availability_zones(moved.region) == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert DEV.network.isolated is False

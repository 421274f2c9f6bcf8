"""Environments the tests synthesize besides the examples."""

from __future__ import annotations

import dataclasses

from config import PROD, STAGING, ExistingSubnet, ExistingVpc, MonitoringBackend, NetworkMode, NetworkSettings

# prod with the model_monitor backend: the opt-in for accounts that already have Model Monitor (ADR 0008). No
# example environment uses it, so the tests synthesize it to keep that backend tested.
PROD_WITH_MODEL_MONITOR = dataclasses.replace(
    PROD, monitoring=dataclasses.replace(PROD.monitoring, backend=MonitoringBackend.MODEL_MONITOR)
)

# staging in an existing VPC given by IDs (network.existing_vpc): the app creates no VPC, only its security groups
# and the endpoints, and synth looks nothing up.
STAGING_IN_EXISTING_VPC = dataclasses.replace(
    STAGING,
    network=NetworkSettings(
        mode=NetworkMode.ISOLATED,
        existing_vpc=ExistingVpc(
            vpc_id="vpc-0a1b2c3d4e5f60718",
            subnets=(
                ExistingSubnet(
                    subnet_id="subnet-0aaaaaaaaaaaaaaa1",
                    availability_zone="us-east-1a",
                    route_table_id="rtb-0aaaaaaaaaaaaaaa1",
                ),
                ExistingSubnet(
                    subnet_id="subnet-0bbbbbbbbbbbbbbb2",
                    availability_zone="us-east-1b",
                    route_table_id="rtb-0bbbbbbbbbbbbbbb2",
                ),
            ),
        ),
    ),
)

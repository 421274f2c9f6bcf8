#!/usr/bin/env python3
"""CDK entry point: one Stage per environment in ``config``, and, when ``config.DELIVERY`` is set, the delivery
pipeline that deploys them (ADR 0023). Makes no AWS call and reads no clock, so two synths of the same commit are
byte-identical."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
import cdk_nag

from config import (
    DELIVERY,
    ENVIRONMENTS,
    MODELS,
    PLATFORM_OWNER,
    DeliverySettings,
    Environment,
    ModelSpec,
    Owner,
    check_delivery,
    check_models,
    resolve_environments,
)
from stacks.delivery_stack import DeliveryStack
from stacks.stage import MlopsStage

ROOT = Path(__file__).resolve().parent


def pinned_cdk_cli_version() -> str:
    """The CDK CLI version package.json pins: the delivery pipeline's self-mutation deploys with the same one."""
    package = json.loads((ROOT / "package.json").read_text())
    return str(package["devDependencies"]["aws-cdk"])


def build_app(
    app: cdk.App,
    *,
    environments: Sequence[Environment] = ENVIRONMENTS,
    models: Sequence[ModelSpec] = MODELS,
    platform_owner: Owner = PLATFORM_OWNER,
    delivery: DeliverySettings | None = DELIVERY,
) -> dict[str, MlopsStage]:
    """Add every environment's stage to ``app``; account/region overrides come from context or env vars."""
    configured = tuple(environments)
    resolved = resolve_environments(configured, context=app.node.try_get_context, environ=os.environ)
    specs = check_models(models)
    if delivery is not None:
        check_delivery(delivery, configured=configured, resolved=resolved)
    stages = {
        env.name: MlopsStage(app, environment=env, models=specs, platform_owner=platform_owner) for env in resolved
    }
    if delivery is not None:
        # The same stage objects `cdk deploy 'dev/*'` deploys, in the order of the environments.
        DeliveryStack(
            app,
            "delivery",
            stack_name="mlops-delivery",
            settings=delivery,
            stages=[stages[env.name] for env in resolved],
            cli_version=pinned_cdk_cli_version(),
        )
    # cdk-nag (v3 plugin API): any unacknowledged AwsSolutions finding fails the synth.
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return stages


def main() -> None:
    app = cdk.App()
    build_app(app)
    app.synth()


if __name__ == "__main__":
    main()

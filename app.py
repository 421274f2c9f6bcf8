#!/usr/bin/env python3
"""CDK entry point: one Stage per environment in ``config``. Makes no AWS call and reads no clock, so two
synths of the same commit are byte-identical."""

from __future__ import annotations

import os
from collections.abc import Sequence

import aws_cdk as cdk
import cdk_nag

from config import (
    ENVIRONMENTS,
    MODELS,
    PLATFORM_OWNER,
    Environment,
    ModelSpec,
    Owner,
    check_models,
    resolve_environments,
)
from stacks.stage import MlopsStage


def build_app(
    app: cdk.App,
    *,
    environments: Sequence[Environment] = ENVIRONMENTS,
    models: Sequence[ModelSpec] = MODELS,
    platform_owner: Owner = PLATFORM_OWNER,
) -> dict[str, MlopsStage]:
    """Add every environment's stage to ``app``; account/region overrides come from context or env vars."""
    resolved = resolve_environments(tuple(environments), context=app.node.try_get_context, environ=os.environ)
    specs = check_models(models)
    stages = {
        env.name: MlopsStage(app, environment=env, models=specs, platform_owner=platform_owner) for env in resolved
    }
    # cdk-nag (v3 plugin API): any unacknowledged AwsSolutions finding fails the synth.
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return stages


def main() -> None:
    app = cdk.App()
    build_app(app)
    app.synth()


if __name__ == "__main__":
    main()

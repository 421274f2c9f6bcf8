"""The tooling account's stack: the app's own delivery pipeline (ADR 0023). Exists only when ``config.DELIVERY``
is set; deployed once by hand (``npx cdk deploy delivery``), then it updates itself from the repository."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from constructs import Construct

from config import DeliverySettings
from mlops_constructs.delivery_pipeline import DeliveryPipeline


class DeliveryStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: DeliverySettings,
        stages: Sequence[cdk.Stage],
        cli_version: str,
        **kwargs: object,
    ) -> None:
        super().__init__(
            scope,
            id_,
            env=cdk.Environment(account=settings.account, region=settings.region),
            description="Delivery pipeline of the MLOps platform: builds the repository and deploys each environment",
            termination_protection=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.delivery = DeliveryPipeline(
            self,
            "Delivery",
            settings=settings,
            stages=stages,
            cli_version=cli_version,
        )

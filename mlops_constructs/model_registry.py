"""The Model Registry model package group of one model."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from config import ModelDeployment


class ModelRegistry(Construct):
    """A model package group, always retained: it is the audit trail of every candidate, its metrics and
    approvals, and outlives any stack. Its description is create-only (docs/aws-facts.md#model-registry)."""

    def __init__(self, scope: Construct, id_: str, *, deployment: ModelDeployment) -> None:
        super().__init__(scope, id_)
        spec = deployment.spec
        self.group_name = deployment.model_package_group_name
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=deployment.model_package_group_name,
            model_package_group_description=(
                f"{spec.description} Owner: {spec.owner.team} <{spec.owner.email}>. "
                f"Gate: {spec.objective.value} >= {spec.absolute_threshold} and >= champion + {spec.min_improvement}."
            )[:1024],
        )
        self.group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)

    @property
    def group_arn(self) -> str:
        arn: str = self.group.attr_model_package_group_arn
        return arn

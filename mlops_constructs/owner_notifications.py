"""The model owner's notification topic."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from config import ModelDeployment


class OwnerTopic(Construct):
    """A KMS-encrypted, TLS-only SNS topic with the owner's e-mail subscribed. Alarms, the retraining loop
    and deployments publish here; the owner confirms the subscription once per environment."""

    def __init__(self, scope: Construct, id_: str, *, deployment: ModelDeployment, key: kms.IKey) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"MLOps {deployment.prefix}",
            master_key=key,
            enforce_ssl=True,
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(deployment.spec.owner.email))

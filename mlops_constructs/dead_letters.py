"""The dead-letter queue behind an EventBridge rule's targets: failed deliveries are kept, never dropped."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def target_dead_letter_queue(scope: Construct, id_: str, *, key: kms.IKey, used_by: str) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue kept 14 days, for the targets of ``used_by`` (named in the cdk-nag reason)."""
    queue = sqs.Queue(
        scope,
        id_,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    cdk.Validations.of(queue).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=f"This queue is itself the dead-letter queue of {used_by}; a DLQ needs no DLQ of its own.",
        )
    )
    return queue

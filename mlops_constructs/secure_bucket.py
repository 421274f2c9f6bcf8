"""S3 buckets with the platform's defaults: KMS, versioning, TLS-only, no public access, access logs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class Expiry:
    """Move current objects to STANDARD_IA after ``infrequent_access`` and delete them after ``expiration``."""

    infrequent_access: cdk.Duration
    expiration: cdk.Duration


class SecureBucket(Construct):
    """A bucket encrypted with the platform key (bucket keys on), versioned, TLS 1.2+ only, public access
    blocked, owner-enforced, server access logs to ``access_logs``; noncurrent versions and incomplete
    uploads are cleaned up, and current objects optionally expire."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
        noncurrent_version_expiration: cdk.Duration,
        expiry: Expiry | None = None,
        event_bridge_enabled: bool = False,
        bucket_name: str,
    ) -> None:
        super().__init__(scope, id_)
        rules = [
            s3.LifecycleRule(
                id="noncurrent-versions",
                noncurrent_version_expiration=noncurrent_version_expiration,
                abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
            )
        ]
        if expiry is not None:
            rules.append(
                s3.LifecycleRule(
                    id="age-out",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=expiry.infrequent_access,
                        )
                    ],
                    expiration=expiry.expiration,
                )
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{id_}/",
            lifecycle_rules=rules,
            removal_policy=removal_policy,
            bucket_name=bucket_name,
        )
        if event_bridge_enabled:
            # Set on the bucket itself: the L2 flag deploys a notifications custom-resource Lambda instead.
            cfn = self.bucket.node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)


class AccessLogBucket(Construct):
    """The target of the other buckets' server access logs.

    S3 server access logging delivers only to buckets with SSE-S3 default encryption (SSE-KMS is not
    supported for the target bucket), so this is the one bucket without the platform key.
    """

    def __init__(
        self, scope: Construct, id_: str, *, removal_policy: cdk.RemovalPolicy, expiration: cdk.Duration
    ) -> None:
        super().__init__(scope, id_)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=expiration,
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )
        cdk.Validations.of(self.bucket).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server-access-log target bucket; logging it into itself would loop.",
            )
        )

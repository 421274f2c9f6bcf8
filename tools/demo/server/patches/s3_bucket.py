"""S3 buckets: EventBridge notifications, versioning and the public access block from CloudFormation; bucket
policies stored, not half-enforced.

Gaps (moto/s3/models.py):
- ``FakeBucket.create_from_cloudformation_json`` applies only ``BucketEncryption`` and ``Tags``: the landing
  bucket's ``NotificationConfiguration.EventBridgeConfiguration`` is dropped, so no "Object Created" event ever
  reaches EventBridge and the ingestion rule never fires (moto does send them for a bucket whose notification
  configuration enables EventBridge, moto/s3/notifications.py);
- ``FakeBucket.get_permission`` evaluates a bucket policy with moto's trust-policy evaluator, which answers
  DENIED for any matching statement whose ``Condition`` it cannot verify, whatever its ``Effect``: the TLS-only
  statement every bucket here carries (``Deny`` unless ``aws:SecureTransport``) denies every request, the CDK
  bootstrap's asset publishing included.

Patch: after moto creates or updates a bucket, ``EventBridgeConfiguration.EventBridgeEnabled``,
``VersioningConfiguration`` and ``PublicAccessBlockConfiguration`` are applied through the backend calls of
PutBucketNotificationConfiguration, PutBucketVersioning and PutPublicAccessBlock (Lambda, queue and topic
notification configurations are not mapped: the app uses none). ``get_permission`` is neutral: bucket policies
are stored (GetBucketPolicy returns them) and never enforced, like every IAM and resource policy in moto (the
emulator serves plain HTTP on loopback, so a faithful TLS-only policy would deny everything too). Lifecycle
rules and access logging are not applied.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.s3")


def apply_properties(bucket: Any, properties: dict[str, Any], account: str) -> None:
    from moto.s3.models import s3_backends  # noqa: PLC0415

    backend = s3_backends[account]["aws"]
    notifications = properties.get("NotificationConfiguration") or {}
    if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        backend.put_bucket_notification_configuration(bucket.name, {"EventBridgeConfiguration": {}})
    unmapped = sorted(k for k in notifications if k != "EventBridgeConfiguration")
    if unmapped:
        log.warning("bucket %s: NotificationConfiguration %s not applied by the demo", bucket.name, unmapped)
    status = (properties.get("VersioningConfiguration") or {}).get("Status")
    if status:
        backend.put_bucket_versioning(bucket.name, status)
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(bucket.name, {k: str(v).lower() == "true" for k, v in block.items()})


def apply(context: ServerContext) -> None:
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = FakeBucket.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(create)
    def create_bucket(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, *args: Any, **kwargs: Any
    ) -> Any:
        bucket = create(cls, resource_name, cloudformation_json, account_id, *args, **kwargs)
        apply_properties(bucket, cloudformation_json.get("Properties", {}), account_id)
        return bucket

    @functools.wraps(update)
    def update_bucket(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, *args: Any
    ) -> Any:
        bucket = update(cls, original_resource, new_resource_name, cloudformation_json, account_id, *args)
        apply_properties(bucket, cloudformation_json.get("Properties", {}), account_id)
        return bucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult  # noqa: PLC0415

        return PermissionResult.NEUTRAL

    setattr(FakeBucket, "get_permission", get_permission)  # noqa: B010
    setattr(FakeBucket, "create_from_cloudformation_json", classmethod(create_bucket))  # noqa: B010
    setattr(FakeBucket, "update_from_cloudformation_json", classmethod(update_bucket))  # noqa: B010

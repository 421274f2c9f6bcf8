"""TEMPORARY: CDK's ``BucketDeployment`` custom resource, run in-process (until the app stops using it).

Gap: ``Custom::CDKBucketDeployment`` is backed by a Lambda (Python + the AWS CLI layer) that moto can run only
in Docker (moto/cloudformation/custom_model.py ``CustomModel``); without it the stack waits in
``CREATE_IN_PROGRESS`` forever.

Patch: moto's CloudFormation creates the type through ``BucketDeployment``: every source zip is extracted
from the asset bucket into ``DestinationBucketName``/``DestinationBucketKeyPrefix`` with the
``SystemMetadata`` server-side encryption, as the provider does with ``aws s3 sync``. Markers and pruning are
not supported (the app uses neither).
"""

from __future__ import annotations

import functools
import io
import logging
import zipfile
from typing import TYPE_CHECKING, Any

from moto.core.common_models import CloudFormationModel

from tools.demo.server.cfn_resources import EmulatedResource

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.cfn")
TYPE = "Custom::CDKBucketDeployment"


class BucketDeployment(EmulatedResource, CloudFormationModel):
    TYPE = TYPE
    API = "s3:GetObject + s3:PutObject (the provider Lambda's work, in-process)"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.s3.models import s3_backends  # noqa: PLC0415

        backend = s3_backends[account]["aws"]
        destination = str(properties["DestinationBucketName"])
        prefix = str(properties.get("DestinationBucketKeyPrefix", "")).strip("/")
        metadata = properties.get("SystemMetadata", {})
        if properties.get("SourceMarkers") and any(properties["SourceMarkers"]):
            raise ValueError(f"{TYPE}: source markers are not supported by the demo")
        keys: list[str] = []
        for bucket, key in zip(properties["SourceBucketNames"], properties["SourceObjectKeys"], strict=True):
            source = backend.get_object(bucket, key)
            if source is None:
                raise ValueError(f"{TYPE}: asset s3://{bucket}/{key} does not exist")
            with zipfile.ZipFile(io.BytesIO(source.value)) as archive:
                for member in archive.infolist():
                    if member.is_dir():
                        continue
                    target = f"{prefix}/{member.filename}" if prefix else member.filename
                    backend.put_object(
                        destination,
                        target,
                        archive.read(member),
                        encryption=metadata.get("sse"),
                        kms_key_id=metadata.get("sse-kms-key-id"),
                    )
                    keys.append(target)
        log.info("cloudformation: %s copied %d objects to s3://%s/%s", TYPE, len(keys), destination, prefix)
        return cls(
            f"aws.cdk.s3deployment.{name}", {"DestinationBucketArn": f"arn:aws:s3:::{destination}"}, lambda: None
        )


def apply(context: ServerContext) -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.resource_class_from_type

    @functools.wraps(original)
    def resource_class_from_type(resource_type: str) -> Any:
        return BucketDeployment if resource_type == TYPE else original(resource_type)

    parsing.resource_class_from_type = resource_class_from_type

"""KMS keys from CloudFormation: tags and key policy in the shapes the KMS API uses.

Gap: ``Key.create_from_cloudformation_json`` (moto/kms/models.py) hands the template's ``Tags``
(``Key``/``Value``) to ``create_key``, whose tagger expects KMS's ``TagKey``/``TagValue`` (a ``KeyError``, an
HTTP 500), and stores ``KeyPolicy`` as the template's object where ``GetKeyPolicy`` must return a JSON string.

Patch: tags are mapped to ``TagKey``/``TagValue`` and the policy is JSON-encoded before moto creates the key.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.kms.models import Key  # noqa: PLC0415

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(original)
    def create_key(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        properties["Tags"] = [
            {"TagKey": t.get("Key", t.get("TagKey")), "TagValue": t.get("Value", t.get("TagValue"))}
            for t in properties.get("Tags", [])
        ]
        if not isinstance(properties.get("KeyPolicy"), str):
            properties["KeyPolicy"] = json.dumps(properties.get("KeyPolicy", {}))
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    setattr(Key, "create_from_cloudformation_json", classmethod(create_key))  # noqa: B010

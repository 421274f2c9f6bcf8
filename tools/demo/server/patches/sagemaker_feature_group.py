"""DescribeFeatureGroup: the online store, description and table format, and a 4xx for a missing group.

Gaps (moto/sagemaker/models.py):
- ``FeatureGroup.describe`` returns no ``OnlineStoreConfig``, ``Description`` or ``OfflineStoreConfig.TableFormat``
  (moto's ``create_feature_group`` does not take them), so a client cannot tell an online group from an
  offline-only one;
- ``SageMakerModelBackend.describe_feature_group`` indexes a dict with the unknown group's ARN: a ``KeyError``,
  an HTTP 500 the SDKs retry, where SageMaker answers ``ResourceNotFound``.

Patch: ``describe`` adds the fields ``cfn_resources`` keeps from the template (``online_store_config``,
``description``); an unknown group raises ``ResourceNotFound``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.sagemaker.exceptions import ResourceNotFound  # noqa: PLC0415
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend  # noqa: PLC0415

    original_describe = FeatureGroup.describe
    original_lookup = SageMakerModelBackend.describe_feature_group

    @functools.wraps(original_describe)
    def describe(self: Any) -> dict[str, Any]:
        described = original_describe(self)
        if getattr(self, "online_store_config", None):
            described["OnlineStoreConfig"] = self.online_store_config
        if getattr(self, "description", None):
            described["Description"] = self.description
        return described

    @functools.wraps(original_lookup)
    def describe_feature_group(self: Any, feature_group_name: str) -> dict[str, Any]:
        try:
            return original_lookup(self, feature_group_name)
        except KeyError:
            raise ResourceNotFound(message=f"Resource Not Found: FeatureGroup {feature_group_name}") from None

    setattr(FeatureGroup, "describe", describe)  # noqa: B010
    setattr(SageMakerModelBackend, "describe_feature_group", describe_feature_group)  # noqa: B010

"""SageMaker Model, EndpointConfig and Endpoint from CloudFormation: multi-container models and given names.

Gaps (moto/sagemaker/models.py):
- ``Model.create_from_cloudformation_json`` requires ``PrimaryContainer``; the serving stack's model uses
  ``Containers`` (a model package through ``ModelPackageName``): ``KeyError``, an HTTP 500;
- ``Model``, ``FakeEndpointConfig`` and ``FakeEndpoint`` declare no name property
  (``cloudformation_name_type`` returns ""), so ``ModelName``/``EndpointConfigName``/``EndpointName`` are
  ignored and every endpoint gets a generated name: nothing that addresses the endpoint by its configured name
  (``fraud-detection-dev``: the Lambdas, the CLI, the alarms' dimensions) finds it.

Patch: ``PrimaryContainer`` is optional when ``Containers`` is given; the three types name their name property,
so CloudFormation uses the template's name and generates one only when it is absent, as AWS does.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

NAME_PROPERTIES = {"Model": "ModelName", "FakeEndpointConfig": "EndpointConfigName", "FakeEndpoint": "EndpointName"}


def apply(context: ServerContext) -> None:
    from moto.sagemaker import models  # noqa: PLC0415

    for class_name, name_property in NAME_PROPERTIES.items():
        getattr(models, class_name).cloudformation_name_type = staticmethod(lambda p=name_property: p)

    original = models.Model.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(original)
    def create_model(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        if "PrimaryContainer" not in properties and properties.get("Containers"):
            properties["PrimaryContainer"] = None
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    setattr(models.Model, "create_from_cloudformation_json", classmethod(create_model))  # noqa: B010

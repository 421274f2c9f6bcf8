"""SSM parameters from CloudFormation: tags in the shape the SSM API uses.

Gap: ``Parameter.create_from_cloudformation_json`` (moto/ssm/models.py) hands the template's ``Tags`` to
``put_parameter``, which reads a list of ``Key``/``Value`` pairs; ``AWS::SSM::Parameter`` declares ``Tags`` as a
map of key to value (the platform key's ARN parameter carries the app's tags), so the create fails with a
``TypeError`` (an HTTP 500).

Patch: a ``Tags`` map becomes the ``Key``/``Value`` list before moto creates (or, on update, re-creates) the
parameter.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def tag_list(tags: Any) -> list[dict[str, str]]:
    """``AWS::SSM::Parameter``'s ``Tags`` (a map) as SSM's ``Key``/``Value`` list; a list is kept as it is."""
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]
    return list(tags or [])


def apply(context: ServerContext) -> None:
    from moto.ssm.models import Parameter  # noqa: PLC0415

    original = Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(original)
    def create_parameter(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        properties["Tags"] = tag_list(properties.get("Tags"))
        return original(cls, resource_name, cloudformation_json, *args, **kwargs)

    setattr(Parameter, "create_from_cloudformation_json", classmethod(create_parameter))  # noqa: B010

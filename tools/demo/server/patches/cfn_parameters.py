"""Template parameters: SSM-typed parameters that do not exist, and ``UsePreviousValue`` on updates.

Gaps (moto/cloudformation):
- ``parsing.py`` ``ResourceMap.parse_ssm_parameter`` reads ``.value`` of a missing SSM parameter: an
  ``AttributeError``, an HTTP 500 the SDKs retry for ~45 s, instead of CloudFormation's ValidationError;
- ``models.py`` ``CloudFormationBackend._resolve_update_parameters`` looks up a ``UsePreviousValue`` parameter
  among the values passed when the stack was created; the CDK CLI sends ``UsePreviousValue`` for parameters
  that were left at their default (the Powertools layer parameter, ``BootstrapVersion``), so every update of
  such a stack fails with ``KeyError`` (HTTP 500).

Patch: a missing SSM parameter raises ValidationError ``Parameters: [<name>] cannot be found``; a
``UsePreviousValue`` parameter that was never passed keeps its previous value, the template default.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.models import CloudFormationBackend  # noqa: PLC0415
    from moto.cloudformation.parsing import ResourceMap  # noqa: PLC0415
    from moto.ssm.models import ssm_backends  # noqa: PLC0415

    original_parse = ResourceMap.parse_ssm_parameter

    @functools.wraps(original_parse)
    def parse_ssm_parameter(self: Any, value: str, value_type: str) -> Any:
        if ssm_backends[self._account_id][self._region_name].get_parameter(value) is None:
            raise ValidationError(message=f"Parameters: [{value}] cannot be found.")
        return original_parse(self, value, value_type)

    def resolve_update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, Any]]) -> dict[str, Any]:
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p}
        for parameter in incoming_params:
            key = parameter["ParameterKey"]
            if parameter.get("UsePreviousValue", False) and key in instance.parameters:
                parameters[key] = instance.parameters[key]
        return parameters

    setattr(ResourceMap, "parse_ssm_parameter", parse_ssm_parameter)  # noqa: B010
    setattr(CloudFormationBackend, "_resolve_update_parameters", resolve_update_parameters)  # noqa: B010

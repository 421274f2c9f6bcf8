"""P8: ``{{resolve:ssm:...}}`` dynamic references are resolved when a resource is created or updated.

Gap: moto's CloudFormation has no dynamic-reference support (nothing in moto/cloudformation handles
``resolve:``), so the serving stack's ``Containers[0].ModelPackageName`` stays the literal
``{{resolve:ssm:/mlops/<model>/<env>/serving-model-package-arn}}`` and the Model serves nothing.

Patch: ``clean_json`` (moto/cloudformation/parsing.py, the function that resolves intrinsics in resource
properties and outputs) replaces every ``{{resolve:ssm:name}}`` / ``{{resolve:ssm:name:version}}`` in a string
with the parameter's value from the emulator's SSM, as CloudFormation does; a missing parameter fails the
operation with a ValidationError naming it. ``ssm-secure`` and ``secretsmanager`` references are refused with
a ValidationError (the app uses neither).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]+)\}\}")


def resolve(text: str, *, account: str, region: str) -> str:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.ssm.models import ssm_backends  # noqa: PLC0415

    def value(match: re.Match[str]) -> str:
        service, reference = match.group(1), match.group(2)
        if service != "ssm":
            raise ValidationError(message=f"dynamic reference {match.group(0)}: resolve:{service} is not emulated")
        parameter = ssm_backends[account][region].get_parameter(reference)
        if parameter is None:
            name = reference.split(":")[0]
            raise ValidationError(message=f"Parameter {name} not found for dynamic reference {match.group(0)}")
        return str(parameter.value)

    return REFERENCE.sub(value, text)


def apply(context: ServerContext) -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, str) and "{{resolve:" in resource_json:
            return resolve(resource_json, account=resources_map._account_id, region=resources_map._region_name)
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json

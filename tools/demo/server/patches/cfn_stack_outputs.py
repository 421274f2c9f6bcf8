"""``Fn::GetStackOutput``: a stack reads another stack's output, as CDK's weak cross-stack references render it.

Gap: moto's CloudFormation does not know the intrinsic (moto/cloudformation/parsing.py ``clean_json`` treats
``{"Fn::GetStackOutput": {...}}`` as a plain object), so with ``@aws-cdk/core:defaultCrossStackReferences=weak``
(cdk.json) every cross-stack value reaches the resource as a dict: IAM policies fail with
``MalformedPolicyDocument``, names and ARNs are garbage.

Patch: ``clean_json`` resolves ``{"Fn::GetStackOutput": {"StackName", "OutputName", "Region"?}}`` to the named
stack's output value in the emulator (same account; the region defaults to the stack's own); a missing stack
or output fails the operation with a ValidationError naming it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def stack_output(spec: dict[str, Any], *, account: str, region: str) -> str:
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    stack_name, output_name = str(spec["StackName"]), str(spec["OutputName"])
    backend = cloudformation_backends[account][str(spec.get("Region") or region)]
    stack = next((s for s in backend.stacks.values() if s.name == stack_name and "DELETE" not in s.status), None)
    if stack is None:
        raise ValidationError(message=f"Fn::GetStackOutput: stack {stack_name} does not exist")
    output = next((o for o in stack.output_map.values() if o and o.key == output_name), None)
    if output is None:
        raise ValidationError(message=f"Fn::GetStackOutput: stack {stack_name} has no output {output_name}")
    return str(output.value)


def apply(context: ServerContext) -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.clean_json

    @functools.wraps(original)
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and set(resource_json) == {"Fn::GetStackOutput"}:
            spec = original(resource_json["Fn::GetStackOutput"], resources_map)
            return stack_output(spec, account=resources_map._account_id, region=resources_map._region_name)
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json

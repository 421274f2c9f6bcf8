"""Lambda functions keep deploying when their template names a public layer (Powertools') on update.

Gap: moto's CloudFormation ignores a function's ``Layers`` on create (moto/awslambda/models.py
``LambdaFunction.create_from_cloudformation_json`` passes no layers), but an update hands every property to
``LambdaFunction.update_configuration``, which looks each layer ARN up in the emulated account's own layer
store (``_get_layers_data``); AWS's public layers are never there, so every update of a stack with a function
fails with ``One or more LayerVersion does not exist``.

Patch: ``update_configuration`` ignores ``Layers`` too, consistently with create (the demo runs handlers with
the venv's packages, see ``lambda_python``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.awslambda.models import LambdaFunction  # noqa: PLC0415

    original = LambdaFunction.update_configuration

    @functools.wraps(original)
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> Any:
        return original(self, {k: v for k, v in config_updates.items() if k != "Layers"})

    setattr(LambdaFunction, "update_configuration", update_configuration)  # noqa: B010

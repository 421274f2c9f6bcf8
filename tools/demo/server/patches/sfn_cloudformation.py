"""P1: state machines deployed by CloudFormation live in the backend that executes them.

Gap: with ``stepfunctions.execute_state_machine`` on, the Step Functions API reads and writes
``stepfunctions_parser_backends`` (moto/stepfunctions/responses.py ``get_backend``), but CloudFormation creates,
updates and deletes state machines in ``stepfunctions_backends`` (moto/stepfunctions/models.py
``StateMachine.create_from_cloudformation_json`` and friends), so ``StartExecution`` on a deployed machine fails
with ``StateMachineDoesNotExist``.

Patch: the module-level ``stepfunctions_backends`` those CloudFormation handlers look up is rebound to the
executing (parser) backends, so a deployed machine is the one the API describes and runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.stepfunctions import models  # noqa: PLC0415
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]

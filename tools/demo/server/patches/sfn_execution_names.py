"""P1b: an execution started without a name gets a unique one, as in Step Functions.

Gap: the executing backend (moto/stepfunctions/parser/models.py ``StepFunctionsParserBackend.start_execution``)
uses the requested name as is, so every unnamed execution is called "None" and the second one fails with
``ExecutionAlreadyExists``; EventBridge targets and most callers start executions without a name.

Patch: a missing name becomes a UUID before the original runs (the non-executing backend already does this).
"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def apply(context: ServerContext) -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    original = StepFunctionsParserBackend.start_execution

    @functools.wraps(original)
    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    setattr(StepFunctionsParserBackend, "start_execution", start_execution)  # noqa: B010

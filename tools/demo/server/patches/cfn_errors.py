"""A resource that fails to create or update fails the CloudFormation call with an error that names it.

Gap: moto's CloudFormation creates and updates resources inside the CreateStack/UpdateStack request
(moto/cloudformation/parsing.py ``parse_and_create_resource``, ``parse_and_update_resource``); an error of the
resource's own service escapes in that service's protocol (a Lambda JSON error inside a CloudFormation XML
response) or as a Python exception (HTTP 500). The CDK CLI then reports ``@aws-sdk XML parse error`` after
~45 s of SDK retries, and nothing says which resource failed or why.

Patch: any error but CloudFormation's own becomes a CloudFormation ValidationError
``<LogicalId> (<Type>): <error>``. moto still has no rollback: resources created before the failure stay
(``make demo-up`` starts from a fresh emulator).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.cfn")


def _named(operation: Callable[..., Any], verb: str) -> Callable[..., Any]:
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError  # noqa: PLC0415

    @functools.wraps(operation)
    def wrapper(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(logical_id, resource_json, *args, **kwargs)
        except CloudFormationError:
            raise
        except Exception as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            log.exception("cloudformation: %s %s (%s) failed", verb, logical_id, resource_json.get("Type"))
            raise ValidationError(
                message=f"{logical_id} ({resource_json.get('Type')}) failed to {verb}: {message}"
            ) from error

    return wrapper


def apply(context: ServerContext) -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    parsing.parse_and_create_resource = _named(parsing.parse_and_create_resource, "create")
    parsing.parse_and_update_resource = _named(parsing.parse_and_update_resource, "update")

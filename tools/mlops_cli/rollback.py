"""``rollback``: invoke the model's rollback function until the previous version serves again.

The function (``lambdas/deployment/rollback.py``, named ``<model>-<env>-rollback``) restores the version the
champion's deployment replaced. It answers ``EndpointNotReady`` while the endpoint is updating, including right
after it asked SageMaker to go back; this command waits and invokes it again until it reports the rollback
done, the function fails in another way, or the timeout passes.

The champion's deployment id is read from the history table first and pinned in the request (the function
would otherwise pick the champion itself), so invoking again after a lost response, or running the command
again after a timeout, continues the same rollback instead of rolling back a second version. When what serves
was itself restored by a rollback (the champion item was last written by another deployment's rollback), a
further step back needs ``force``: two people rolling back at once would otherwise go back two versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment.history import Champion, HistoryStore
from tools.mlops_cli.aws import Invoke
from tools.mlops_cli.errors import CliError, error_code, one_line
from tools.mlops_cli.registry import serving_arn
from tools.mlops_cli.target import Target

NOT_READY = "EndpointNotReady"


@dataclass(frozen=True, kw_only=True)
class RollbackResult:
    deployment_id: str
    restored_model_package_arn: str | None
    restored_endpoint_config_name: str
    rolled_back_model_package_arn: str
    pointer_parameter: str
    pointer: str | None
    finished_at: str
    invocations: int
    waited_seconds: float


def champion(dynamodb: Any, target: Target) -> Champion | None:
    store = HistoryStore(
        dynamodb=dynamodb, table=target.history_table, model_name=target.model, environment=target.environment
    )
    try:
        return store.champion()
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise CliError(
                f"deployment history table '{target.history_table}' does not exist in {target.region}: "
                "is the platform stack deployed?"
            ) from None
        raise


def _deployment_to_roll_back(dynamodb: Any, target: Target, *, force: bool) -> str:
    current = champion(dynamodb, target)
    if current is None or not current.current.deployment_id:
        raise CliError(
            f"nothing to roll back for {target.label}: the history table records no champion deployed by the "
            "automation (the serving version predates it)"
        )
    restored_by = current.updated_by
    if restored_by and restored_by != current.current.deployment_id and not force:
        # Two people rolling back at once would otherwise step back two versions.
        raise CliError(
            f"what serves {target.label} (deployment '{current.current.deployment_id}') was itself restored by "
            f"rolling back deployment '{restored_by}' at {current.updated_at or '?'}; pass --force to step back "
            "once more"
        )
    return current.current.deployment_id


def _function_error(response: dict[str, Any]) -> tuple[str, str] | None:
    if not response.get("FunctionError"):
        return None
    payload = response.get("Payload")
    if isinstance(payload, dict):
        return str(payload.get("errorType") or response["FunctionError"]), one_line(
            str(payload.get("errorMessage", ""))
        )
    return str(response["FunctionError"]), one_line(str(payload))


def rollback(
    target: Target,
    *,
    invoke: Invoke,
    dynamodb: Any,
    ssm: Any,
    requested_by: str,
    reason: str | None,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None] = lambda _: None,
    force: bool = False,
) -> RollbackResult:
    """Roll the champion's deployment back. ``invoke`` calls the function, ``sleep``/``clock`` pace the waits
    (``time.sleep``/``time.monotonic``), ``progress`` hears about each wait. What serves after a rollback is
    only rolled back further with ``force``."""
    deployment_id = _deployment_to_roll_back(dynamodb, target, force=force)
    why = (reason or "").strip() or "manual rollback"
    payload = {
        "deployment_id": deployment_id,
        "reason": f"{why} (requested by {requested_by})",
        "requested_by": requested_by,
    }
    function = target.rollback_function
    start = clock()
    invocations = 0
    while True:
        invocations += 1
        response = invoke(function, payload)
        error = _function_error(response)
        if error is None:
            break
        kind, message = error
        if kind != NOT_READY:
            raise CliError(f"rollback of deployment '{deployment_id}' failed: {kind}: {message}")
        waited = clock() - start
        if waited + poll_seconds > timeout_seconds:
            raise CliError(
                f"endpoint '{target.endpoint_name}' still not ready after {waited:.0f}s ({message}); the rollback "
                "is not finished: run `rollback` again to wait longer"
            )
        progress(f"waiting {poll_seconds:g}s: {message}")
        sleep(poll_seconds)
    body = response.get("Payload")
    if not isinstance(body, dict) or body.get("outcome") != "rolled_back":
        raise CliError(f"rollback function '{function}' answered without outcome 'rolled_back': {one_line(str(body))}")
    return RollbackResult(
        deployment_id=str(body.get("deployment_id", deployment_id)),
        restored_model_package_arn=body.get("restored_model_package_arn"),
        restored_endpoint_config_name=str(body.get("restored_endpoint_config_name", "")),
        rolled_back_model_package_arn=str(body.get("rolled_back_model_package_arn", "")),
        pointer_parameter=str(body.get("serving_pointer_parameter") or target.pointer_parameter),
        pointer=serving_arn(ssm, target),
        finished_at=str(body.get("finished_at", "")),
        invocations=invocations,
        waited_seconds=round(clock() - start, 3),
    )

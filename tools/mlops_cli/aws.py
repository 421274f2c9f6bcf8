"""AWS clients for the commands, the caller's identity, and the Lambda invoker ``rollback`` uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from tools.mlops_cli.errors import CliError, error_code

# Invoke a Lambda function synchronously: (function name, JSON payload) -> the Invoke response with the payload
# decoded, ``{"StatusCode": int, "FunctionError"?: str, "Payload": <JSON>}``. A function error (an exception in
# the handler) is ``FunctionError`` set and ``Payload = {"errorType": <class name>, "errorMessage": ...}``.
Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
# Invoke waits for the function (the deployment functions time out after 2 minutes); a retried read timeout
# would run the function twice, so no retries and a read timeout above the function's.
_INVOKE = Config(retries={"total_max_attempts": 1}, read_timeout=180, connect_timeout=10)


class Clients:
    """Low-level boto3 clients, created on first use (a command needs only a few).

    ``factory(service, config)`` makes a client (``boto3.Session(...).client``); tests pass moto-backed clients
    and an ``invoke`` of their own (moto cannot run Lambda code without Docker).
    """

    def __init__(self, factory: Callable[..., Any], *, invoke: Invoke | None = None) -> None:
        self._factory = factory
        self._invoke = invoke
        self._clients: dict[str, Any] = {}

    def _client(self, service: str, config: Config = _RETRIES) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service, config=config)
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self._client("sagemaker")

    @property
    def ssm(self) -> Any:
        return self._client("ssm")

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def stepfunctions(self) -> Any:
        return self._client("stepfunctions")

    @property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    @property
    def sts(self) -> Any:
        return self._client("sts")

    @property
    def invoke(self) -> Invoke:
        if self._invoke is None:
            self._invoke = lambda_invoker(self._client("lambda", _INVOKE))
        return self._invoke


@dataclass(frozen=True, kw_only=True)
class Identity:
    account: str
    arn: str

    @property
    def user(self) -> str:
        """Who, for the records: ``alice`` (IAM user), ``OnCall/alice`` (role/session), ``root``."""
        resource = self.arn.split(":", 5)[-1]
        kind, _, rest = resource.partition("/")
        if kind == "user":
            return rest.rsplit("/", 1)[-1]
        if kind in ("assumed-role", "federated-user") and rest:
            return rest
        return resource


def caller_identity(sts: Any) -> Identity:
    response = sts.get_caller_identity()
    return Identity(account=str(response["Account"]), arn=str(response["Arn"]))


def lambda_invoker(lambda_client: Any) -> Invoke:
    """An ``Invoke`` over a boto3 Lambda client (RequestResponse)."""

    def invoke(function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = lambda_client.invoke(
                FunctionName=function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode(),
            )
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise CliError(
                    f"Lambda function '{function_name}' does not exist in this account and region: "
                    "is the serving stack deployed?"
                ) from None
            raise
        body = response["Payload"].read()
        result: dict[str, Any] = {"StatusCode": response.get("StatusCode"), "Payload": json.loads(body or b"null")}
        if response.get("FunctionError"):
            result["FunctionError"] = response["FunctionError"]
        return result

    return invoke

"""P7: EventBridge rules deliver to Step Functions and Lambda targets, asynchronously, with their input settings.

Gap: moto's rule delivery (moto/events/models.py ``Rule.send_to_targets``) knows log groups, archives, SQS,
event buses and API destinations only; a state machine or Lambda target raises
``NotImplementedError: Expr not defined for Rule`` (an HTTP 500 for ``PutEvents``, and S3's EventBridge
notifications are silently lost). It also ignores a target's ``Input`` and ``InputPath``, renders
``InputTransformer`` string values unquoted (invalid JSON), delivers the event with an epoch-number ``time``
(AWS sends ISO 8601) and delivers synchronously inside the caller's request. Every rule also receives events
while disabled, and a rule without an event pattern (a schedule) matches every event.

Patch: for ``states`` and ``lambda`` targets the rule renders the target's input as EventBridge does (the
event, ``Input``, ``InputPath`` or ``InputTransformer``) and delivers it on a background thread:
``StartExecution`` (unnamed, so Step Functions names it) or an asynchronous Lambda invocation running the
real handler (``lambda_python``). A delivery EventBridge cannot make (the target does not exist) goes to the
target's ``DeadLetterConfig`` queue with EventBridge's ``ERROR_CODE``/``ERROR_MESSAGE``/``RULE_ARN``/
``TARGET_ARN`` attributes. Other targets keep moto's behaviour. Disabled and schedule-only rules receive no
events; schedules themselves do not fire (moto runs no scheduler).

What differs from AWS (and could hide a defect): IAM is not checked (the rule's ``RoleArn`` and the
function's resource policy are not evaluated); delivery is not retried (``RetryPolicy``), and a Lambda
function error is logged, not retried as Lambda's asynchronous invocation would (twice, by default).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.events")
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eventbridge")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it: AWS's fields, ``time`` in ISO 8601 (moto keeps an epoch float)."""
    delivered = {k: v for k, v in event.items() if k != "ingestion-time"}
    when = delivered.get("time")
    if isinstance(when, int | float) or (isinstance(when, str) and re.fullmatch(r"\d+(\.\d+)?", when)):
        delivered["time"] = datetime.fromtimestamp(float(when), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def _json_path(path: str, event: dict[str, Any]) -> Any:
    from jsonpath_ng.ext.parser import parse  # noqa: PLC0415 - moto's dependency

    matches = parse(path).find(event)
    return matches[0].value if matches else None


def transform(template: str, paths: dict[str, str], event: dict[str, Any]) -> str:
    """An ``InputTransformer`` rendered as EventBridge does: a placeholder inside a JSON string gets the value's
    text, elsewhere its JSON (strings quoted); ``<aws.events.event.json>`` is the whole event."""
    values = {name: _json_path(path, event) for name, path in paths.items()}
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-arn", None)
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                out.append(json.dumps(value)[1:-1] if isinstance(value, str) else json.dumps(value))
            else:
                out.append(json.dumps(value))
            i = match.end()
            continue
        if char == '"' and (i == 0 or template[i - 1] != "\\"):
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(_json_path(target["InputPath"], event))
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(transformer["InputTemplate"], transformer.get("InputPathsMap", {}), event)
    return json.dumps(event)


class DeliveryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _deliver(context: ServerContext, rule_arn: str, target: dict[str, Any], payload: str) -> None:
    arn = str(target["Arn"])
    service = arn.split(":")[2]
    try:
        if service == "states":
            from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

            backend = stepfunctions_parser_backends[context.account][context.region]
            try:
                execution = backend.start_execution(arn, str(uuid.uuid4()), payload)  # unnamed: a UUID, as AWS
            except Exception as error:
                raise DeliveryError(
                    "NO_PERMISSIONS" if "AccessDenied" in str(error) else "SDK_CLIENT_ERROR", str(error)
                ) from error
            log.info("eventbridge %s -> state machine %s: execution %s", rule_arn, arn, execution.name)
        else:
            from moto.awslambda.utils import get_backend  # noqa: PLC0415

            from tools.demo.server.patches.lambda_python import run_handler  # noqa: PLC0415

            try:
                function = get_backend(context.account, context.region).get_function(arn)
            except Exception as error:
                raise DeliveryError("RESOURCE_NOT_FOUND", str(error)) from error
            log.info("eventbridge %s -> lambda %s", rule_arn, function.function_name)
            run_handler(function, payload.encode(), context)
    except DeliveryError as error:
        log.warning("eventbridge %s could not deliver to %s: %s", rule_arn, arn, error)
        dead_letters = target.get("DeadLetterConfig", {}).get("Arn")
        if dead_letters:
            _to_dead_letter_queue(
                context, str(dead_letters), rule_arn=rule_arn, target_arn=arn, payload=payload, error=error
            )
    except Exception:
        log.exception("eventbridge %s: delivery to %s failed", rule_arn, arn)


def _to_dead_letter_queue(
    context: ServerContext, queue_arn: str, *, rule_arn: str, target_arn: str, payload: str, error: DeliveryError
) -> None:
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    def attribute(value: str) -> dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    sqs_backends[context.account][context.region].send_message(
        queue_name=queue_arn.rsplit(":", 1)[-1],
        message_body=payload,
        message_attributes={
            "ERROR_CODE": attribute(error.code),
            "ERROR_MESSAGE": attribute(str(error)[:256]),
            "RULE_ARN": attribute(rule_arn),
            "TARGET_ARN": attribute(target_arn),
        },
    )


def apply(context: ServerContext) -> None:
    from moto.events.models import Rule  # noqa: PLC0415

    original = Rule.send_to_targets

    @functools.wraps(original)
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.state != "ENABLED" or not self.event_pattern.get_pattern():
            return  # a disabled rule delivers nothing; a schedule-only rule matches no event
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if str(t.get("Arn", "")).split(":")[2:3] in (["states"], ["lambda"])]
        rest = [t for t in self.targets if t not in ours]
        if ours:
            event = aws_event(dict(original_event))
            for target in ours:
                _pool.submit(_deliver, context, self.arn, target, target_input(target, event))
        if rest:
            others = object.__new__(type(self))  # a view of the rule with moto's targets only (not tracked)
            others.__dict__.update(self.__dict__)
            others.targets = rest
            original(others, original_event, transform_input)

    setattr(Rule, "send_to_targets", send_to_targets)  # noqa: B010

"""Scheduled EventBridge rules fire when the demo's driver says their time has come.

Gap: moto 5.2.5 runs no scheduler (moto/events/models.py stores a rule's ``ScheduleExpression`` and never
evaluates it), so a schedule rule's targets (the hourly drift workflow) never run.

Patch: ``POST /moto-api/demo/events/schedule {"rule": "<name or ARN>", "time": "2026-03-02T12:10:00Z"}``
delivers the "Scheduled Event" EventBridge would send for that rule at that time (source ``aws.events``,
``resources`` the rule's ARN, empty ``detail``) to the rule's targets, with their input settings, through the
same delivery as matched events (``events_targets``); it answers the targets delivered to. A rule without a
schedule expression, or a disabled one, is refused (400).

What it could hide: the schedule expression itself is not evaluated (the driver picks the time, as the cron
would have), so a wrong expression (the wrong minute or hour) is not caught here; the infra tests read it.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

SCHEDULE_PATH = "{0}/moto-api/demo/events/schedule$"


def scheduled_event(*, rule_arn: str, account: str, region: str, time: str) -> dict[str, Any]:
    """The event EventBridge sends to a schedule rule's targets (EventBridge User Guide, "Creating an Amazon
    EventBridge rule that runs on a schedule": ``detail-type`` "Scheduled Event", ``source`` "aws.events")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def fire(context: ServerContext, rule_name: str, time: str) -> list[str]:
    """Deliver the rule's scheduled event at ``time`` to its targets; returns their ARNs."""
    from moto.events.models import events_backends  # noqa: PLC0415

    from tools.demo.server.patches.events_targets import _deliver, _pool, target_input  # noqa: PLC0415

    backend = events_backends[context.account][context.region]
    name = rule_name.rsplit("/", 1)[-1]
    rule = backend.describe_rule(name, None)
    if not rule.scheduled_expression:
        raise ValueError(f"rule {name} has no schedule expression")
    if rule.state != "ENABLED":
        raise ValueError(f"rule {name} is {rule.state}")
    event = scheduled_event(rule_arn=rule.arn, account=context.account, region=context.region, time=time)
    delivered = []
    for target in rule.targets:
        _pool.submit(_deliver, context, rule.arn, target, target_input(target, event))
        delivered.append(str(target["Arn"]))
    return delivered


def schedule_route(context: ServerContext) -> Any:
    def schedule(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        from moto.events.exceptions import ResourceNotFoundException  # noqa: PLC0415

        try:
            body = json.loads(request.get_data() or b"{}")
            delivered = fire(context, str(body["rule"]), str(body["time"]))
        except (KeyError, ValueError, TypeError, ResourceNotFoundException) as error:
            return 400, {"content-type": "application/json"}, json.dumps({"message": f"bad request: {error}"})
        return 200, {"content-type": "application/json"}, json.dumps({"targets": delivered})

    return schedule


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls  # noqa: PLC0415

    urls.url_paths[SCHEDULE_PATH] = schedule_route(context)

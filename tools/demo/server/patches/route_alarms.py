"""Routing: alarms are evaluated against the published metrics, as CloudWatch does (``tools.demo.emulators.alarms``).

Gap: moto 5.2.5 never evaluates an alarm (moto/cloudwatch/models.py ``CloudWatchBackend`` only stores them and
their metric data): an alarm stays in the state it was created in (or was set to), its actions never run, and no
"CloudWatch Alarm State Change" event reaches EventBridge, so no rule on it (the retraining trigger) ever fires.

Patch: ``POST /moto-api/demo/alarms/evaluate`` runs ``alarms.evaluate_all`` at once, optionally at a given time
and for some alarms only (``{"now": "2026-03-02T12:10:00Z", "names": [...]}``), and answers the state changes
(the emulator logs each); with ``ServerContext.alarm_evaluation_seconds`` set, a server thread also runs it that
often (CloudWatch evaluates every alarm every minute). The default is on demand only: the demo's driver decides
when the story's alarms are judged, and a deployment that is only being inspected sees no alarm start the
retraining loop by itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.alarms")
EVALUATE_PATH = "{0}/moto-api/demo/alarms/evaluate$"


def _evaluate(context: ServerContext, now: datetime | None, names: list[str] | None = None) -> list[dict[str, str]]:
    from tools.demo.emulators import alarms  # noqa: PLC0415
    from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

    changes = alarms.evaluate_all(emulator_aws(context), now or context.clock.now(), names=names)
    return [{"alarm": c.alarm, "previous": c.previous, "state": c.state, "reason": c.reason} for c in changes]


def evaluate_route(context: ServerContext) -> Any:
    """``POST /moto-api/demo/alarms/evaluate``: evaluate every alarm (or ``names``) now (or at ``now``); answers
    the changes."""

    def evaluate(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        try:
            body = json.loads(request.get_data() or b"{}")
            now = datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00")) if body.get("now") else None
            names = [str(n) for n in body["names"]] if body.get("names") else None
        except (ValueError, TypeError) as error:
            return 400, {"content-type": "application/json"}, json.dumps({"message": f"bad request: {error}"})
        return 200, {"content-type": "application/json"}, json.dumps({"changes": _evaluate(context, now, names)})

    return evaluate


def _evaluator(context: ServerContext, every_seconds: float) -> None:
    while True:
        time.sleep(every_seconds)
        try:
            _evaluate(context, None)  # the emulator logs every change
        except Exception:
            log.exception("alarm evaluation failed; retrying in %.0f s", every_seconds)


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls  # noqa: PLC0415

    urls.url_paths[EVALUATE_PATH] = evaluate_route(context)
    if context.alarm_evaluation_seconds:
        threading.Thread(
            target=_evaluator, args=(context, context.alarm_evaluation_seconds), name="alarm-evaluation", daemon=True
        ).start()

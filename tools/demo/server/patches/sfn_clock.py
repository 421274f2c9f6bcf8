"""Step Functions on the demo's compressible clock: Wait states and retry intervals are compressed, the time they
skip is kept, and the clock the state machines read can be moved ahead.

Gap: moto's Step Functions interpreter (moto/stepfunctions/parser, LocalStack's ASL engine) waits in real time:
a ``Wait`` state (asl/component/state/wait/wait_function/wait_function.py ``WaitFunction._wait_interval``) and
a ``Retry`` interval (asl/component/common/retry/retrier_decl.py ``RetrierDecl._eval_body``, ``time.sleep``)
last as long as they say, so a five-minute bake or a minute between retries of a deployment check takes that
long. It stamps ``$$.State.EnteredTime`` (asl/component/state/state.py ``CommonStateField._eval_state``) with
the machine's clock, which nothing can move: the retraining guard's cooldown (an hour in dev) could only pass by
waiting an hour.

Patch: the interpreter runs on the demo server's one clock (``runtime.DemoClock``, ``ServerContext.clock``):
a wait or retry interval of ``s`` seconds lasts ``s / ServerContext.clock_speedup`` real seconds while the clock
runs that much faster, so it reads ``s`` later at the wait's end; ``$$.State.EnteredTime`` is that clock's time.
The endpoint emulator stamps metrics and captures, the alarm emulator evaluates, and the Lambda runtime sets
the handlers' ``datetime`` on the same clock, so a compressed bake is judged on the minutes it stood for.
``POST /moto-api/demo/clock {"advance_seconds": N}`` moves it ahead (it answers the clock's time, offset and speedup).

What it could hide: a step that is too slow for the real wait looks fine; requests and Lambda work done in real
time while a wait runs are stamped as if spread over the compressed minutes; moto's own timestamps (creation
times, execution start dates) stay real time.
"""

from __future__ import annotations

import datetime as _datetime
import functools
import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.emulators.runtime import DemoClock
    from tools.demo.server.patches import ServerContext

CLOCK_PATH = "{0}/moto-api/demo/clock$"


def _moved_datetime(clock: DemoClock) -> type[_datetime.datetime]:
    class MovedDatetime(_datetime.datetime):
        """``datetime.datetime`` whose ``now`` is the demo clock (the interpreter asks for UTC)."""

        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
            moved = clock.now()
            return moved.astimezone(tz) if tz is not None else moved.astimezone().replace(tzinfo=None)

    return MovedDatetime


def clock_route(clock: DemoClock) -> Any:
    def route(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        try:
            body = json.loads(request.get_data() or b"{}")
            offset = clock.advance(float(body.get("advance_seconds", 0)))
        except (ValueError, TypeError) as error:
            return 400, {"content-type": "application/json"}, json.dumps({"message": f"bad request: {error}"})
        answer = {"now": clock.now().isoformat(), "offset_seconds": offset, "speedup": clock.speedup}
        return 200, {"content-type": "application/json"}, json.dumps(answer)

    return route


def replacements(clock: DemoClock) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, value) for each replaced piece of the interpreter (a test applies them with monkeypatch)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state import state  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (  # noqa: PLC0415
        WaitFunction,
    )

    original_wait = WaitFunction._wait_interval

    @functools.wraps(original_wait)
    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        clock.sleep(wait_seconds, stop=env.program_state_event)  # set early when the execution is stopped

    return [
        (WaitFunction, "_wait_interval", wait_interval),
        (retrier_decl, "time", SimpleNamespace(sleep=clock.sleep)),
        (state, "datetime", SimpleNamespace(datetime=_moved_datetime(clock), timezone=_datetime.timezone)),
    ]


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls  # noqa: PLC0415

    for owner, name, value in replacements(context.clock):
        setattr(owner, name, value)
    urls.url_paths[CLOCK_PATH] = clock_route(context.clock)

"""Step Functions on the demo's compressible clock: Wait states and retry intervals are compressed, and the clock
the state machines read can be moved ahead.

Gap: moto's Step Functions interpreter (moto/stepfunctions/parser, LocalStack's ASL engine) waits in real time:
a ``Wait`` state (asl/component/state/wait/wait_function/wait_function.py ``WaitFunction._wait_interval``) and
a ``Retry`` interval (asl/component/common/retry/retrier_decl.py ``RetrierDecl._eval_body``, ``time.sleep``)
last as long as they say, so a five-minute bake or a minute between retries of a deployment check takes that
long. It stamps ``$$.State.EnteredTime`` (asl/component/state/state.py ``CommonStateField._eval_state``) with
the machine's clock, which nothing can move: the retraining guard's cooldown (an hour in dev) could only pass by
waiting an hour.

Patch: waits and retry intervals last ``1 / ServerContext.clock_speedup`` of their time (the same compression as
the endpoint emulator's deployment waits); ``$$.State.EnteredTime`` is real UTC time plus an offset that
``POST /moto-api/demo/clock {"advance_seconds": N}`` moves ahead (it answers the clock's time and offset).
Nothing else reads the offset: every other timestamp stays real time.

What it could hide: a step that is too slow for the real wait looks fine, and a time-dependent check that
reads the state machine's clock (the guard's cooldown, budget and training window) sees the moved clock while
the Lambdas' own clocks (``datetime.now`` in a handler) do not.
"""

from __future__ import annotations

import datetime as _datetime
import functools
import json
import threading
import time as _time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

CLOCK_PATH = "{0}/moto-api/demo/clock$"
_lock = threading.Lock()
_offset_seconds = [0.0]


def offset_seconds() -> float:
    with _lock:
        return _offset_seconds[0]


def advance(seconds: float) -> float:
    """Move the state machines' clock ``seconds`` ahead; returns the new offset."""
    if seconds < 0:
        raise ValueError(f"the clock only moves ahead, not by {seconds} s")
    with _lock:
        _offset_seconds[0] += seconds
        return _offset_seconds[0]


def now() -> _datetime.datetime:
    return _datetime.datetime.now(_datetime.UTC) + _datetime.timedelta(seconds=offset_seconds())


class _MovedDatetime(_datetime.datetime):
    """``datetime.datetime`` whose ``now`` is the state machines' clock (the interpreter asks for UTC)."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        moved = now()
        return moved.astimezone(tz) if tz is not None else moved.astimezone().replace(tzinfo=None)


def clock_route() -> Any:
    def clock(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        try:
            body = json.loads(request.get_data() or b"{}")
            offset = advance(float(body.get("advance_seconds", 0)))
        except (ValueError, TypeError) as error:
            return 400, {"content-type": "application/json"}, json.dumps({"message": f"bad request: {error}"})
        answer = {"now": now().isoformat(), "offset_seconds": offset}
        return 200, {"content-type": "application/json"}, json.dumps(answer)

    return clock


def replacements(speedup: float) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, value) for each replaced piece of the interpreter (a test applies them with monkeypatch)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state import state  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (  # noqa: PLC0415
        WaitFunction,
    )

    original_wait = WaitFunction._wait_interval

    @functools.wraps(original_wait)
    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds / speedup)  # set early when the execution is stopped

    return [
        (WaitFunction, "_wait_interval", wait_interval),
        (retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: _time.sleep(seconds / speedup))),
        (state, "datetime", SimpleNamespace(datetime=_MovedDatetime, timezone=_datetime.timezone)),
    ]


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls  # noqa: PLC0415

    for owner, name, value in replacements(context.clock_speedup):
        setattr(owner, name, value)
    urls.url_paths[CLOCK_PATH] = clock_route()

"""The demo's Python Lambda runtime: deployed handlers run in reused execution environments, with Lambda's
error and timeout contract.

The functions are built here as zips of small handlers (the deploy test runs the app's real ones inside the
server); what is pinned is the runtime's behaviour: an environment serves invocation after invocation with its
module state (a warm start), a new code version gets a new environment, an exception is Lambda's error shape,
a handler past its timeout is ended and its environment replaced, and each invocation's log is its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from moto.logs.models import logs_backends

from tools.demo.server.environment import DemoPaths
from tools.demo.server.patches import ServerContext, lambda_python

ACCOUNT, REGION = "123456789012", "us-east-1"
HANDLER = """
import os
import time

CALLS = []  # module state: survives between invocations of one execution environment


def handler(event, context):
    CALLS.append(event.get("n"))
    print(f"call {len(CALLS)} request {context.aws_request_id}")
    if event.get("fail"):
        raise ValueError("asked to fail")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"calls": list(CALLS), "pid": os.getpid(), "greeting": os.environ["GREETING"]}
"""


def function(name: str, source: str, *, timeout: int = 5, greeting: str = "hello") -> Any:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    code = buffer.getvalue()
    return SimpleNamespace(
        function_name=name,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        code_sha_256=hashlib.sha256(code).hexdigest(),
        code_bytes=code,
        handler="app.handler",
        timeout=timeout,
        memory_size=128,
        run_time="python3.12",
        environment_vars={"GREETING": greeting},
    )


@pytest.fixture
def context(tmp_path: Path) -> Iterator[ServerContext]:
    yield ServerContext(
        endpoint_url="http://127.0.0.1:1",
        account=ACCOUNT,
        region=REGION,
        python=sys.executable,
        paths=DemoPaths(tmp_path / "state"),
    )
    with lambda_python._pool_lock:
        environments = [e for group in lambda_python._idle.values() for e in group]
        lambda_python._idle.clear()
    for environment in environments:
        environment.close()


def invoke(fn: Any, context: ServerContext, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    payload, failed = lambda_python.run_handler(fn, json.dumps(event).encode(), context)
    return json.loads(payload), failed


def test_an_environment_is_reused_with_its_module_state(context: ServerContext) -> None:
    fn = function("warm", HANDLER)
    first, failed = invoke(fn, context, {"n": 1})
    second, _ = invoke(fn, context, {"n": 2})
    assert not failed
    assert second["calls"] == [1, 2]  # the module was imported once: a warm start
    assert second["pid"] == first["pid"]
    assert second["greeting"] == "hello"


def test_a_new_code_or_configuration_version_gets_a_new_environment(context: ServerContext) -> None:
    first, _ = invoke(function("versions", HANDLER), context, {"n": 1})
    changed, _ = invoke(function("versions", HANDLER, greeting="bonjour"), context, {"n": 2})
    assert changed["calls"] == [2]
    assert changed["pid"] != first["pid"]
    assert changed["greeting"] == "bonjour"


def test_an_exception_is_lambdas_error_shape_and_the_environment_lives_on(context: ServerContext) -> None:
    fn = function("errors", HANDLER)
    error, failed = invoke(fn, context, {"n": 1, "fail": True})
    assert failed
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")
    assert any("asked to fail" in line for line in error["stackTrace"])
    after, failed = invoke(fn, context, {"n": 2})
    assert not failed
    assert after["calls"] == [1, 2]


def test_a_handler_past_its_timeout_is_ended_and_its_environment_replaced(context: ServerContext) -> None:
    fn = function("slow", HANDLER, timeout=1)
    first, _ = invoke(fn, context, {"n": 1})
    timed_out, failed = invoke(fn, context, {"n": 2, "sleep": 5})
    assert failed
    assert timed_out["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out["errorMessage"]
    fresh, _ = invoke(fn, context, {"n": 3})
    assert fresh["calls"] == [3]
    assert fresh["pid"] != first["pid"]


def test_each_invocation_logs_only_its_own_output(context: ServerContext) -> None:
    fn = function("logs", HANDLER)
    invoke(fn, context, {"n": 1})
    invoke(fn, context, {"n": 2})
    group = logs_backends[ACCOUNT][REGION].groups["/aws/lambda/logs"]
    streams = [[event.message for event in stream.events] for stream in group.streams.values()]
    calls = sorted(next(m for m in messages if m.startswith("call ")) for messages in streams)
    assert [c.split(" request ")[0] for c in calls] == ["call 1", "call 2"]
    assert all(sum(m.startswith("call ") for m in messages) == 1 for messages in streams)


CLOCK_HANDLER = """
import datetime as dt
from datetime import UTC, datetime


def handler(event, context):
    real = dt.datetime.__mro__[1].fromtimestamp(0, UTC)  # a plain datetime, as a parser might build one
    return {"now": datetime.now(UTC).isoformat(), "plain_is_datetime": isinstance(real, datetime)}
"""


def test_a_handler_reads_the_demo_clock_of_each_invocation(tmp_path: Path) -> None:
    """The compare Lambda's bake window and the endpoint's metric stamps must agree on the time."""
    context = ServerContext(
        endpoint_url="http://127.0.0.1:1",
        account=ACCOUNT,
        region=REGION,
        python=sys.executable,
        paths=DemoPaths(tmp_path / "state"),
        clock_speedup=7.0,  # a clock of its own: the process keeps one per speedup
    )
    fn = function("clocked", CLOCK_HANDLER)
    try:
        context.clock.advance(2 * 86400)
        first, failed = invoke(fn, context, {})
        context.clock.advance(86400)
        second, _ = invoke(fn, context, {})  # the same warm environment, the clock moved on
    finally:
        with lambda_python._pool_lock:
            environments = [e for group in lambda_python._idle.values() for e in group]
            lambda_python._idle.clear()
        for environment in environments:
            environment.close()
    assert not failed, first
    real = datetime.now(UTC)
    assert abs(datetime.fromisoformat(first["now"]) - (real + timedelta(days=2))) < timedelta(seconds=60)
    assert abs(datetime.fromisoformat(second["now"]) - (real + timedelta(days=3))) < timedelta(seconds=60)
    assert first["plain_is_datetime"] is True

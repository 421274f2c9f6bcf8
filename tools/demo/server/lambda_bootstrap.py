"""The child side of the demo's Python Lambda runtime: one execution environment of a deployed function.

Run by ``patches.lambda_python`` as ``python -I lambda_bootstrap.py <code dir> <module.function> <done fd>`` in the
function's environment, from the extracted deployment package (the code directory comes first on ``sys.path``, as
``/var/task`` does in Lambda). Like a Lambda execution environment it serves invocations one after the other: the
handler module is imported once, in an init phase before the first invocation (not counted against the function's
timeout; one byte on ``done`` says it is over), and module-level state lives on between invocations. Each invocation
is one JSON line on stdin (``event``, ``request_id``, ``log_stream``, ``result_file``, ``clock_offset_seconds``);
the outcome goes to the result file as JSON, ``{"result": ...}`` or Lambda's error shape ``{"errorType",
"errorMessage", "stackTrace"}`` (the handler's own stdout and stderr are its log), then one byte on ``done`` says it
is there. End of stdin ends the environment. Standard library only: it must import nothing of the repository, so the
handler runs the deployed code and nothing else.

The demo's clock: before anything else is imported, ``datetime.datetime`` becomes a subclass whose ``now``,
``utcnow`` and ``today`` are real time plus the invocation's ``clock_offset_seconds`` (the emulator's clock runs
ahead of real time through compressed waits and moves); ``isinstance`` still accepts every datetime.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

_REAL_DATETIME = _datetime.datetime
_offset = [0.0]  # seconds the demo's clock is ahead of real time, for the running invocation


class _AnyDatetime(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, _REAL_DATETIME)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _REAL_DATETIME)


class DemoDatetime(_REAL_DATETIME, metaclass=_AnyDatetime):
    """``datetime.datetime`` on the demo's clock."""

    @classmethod
    def now(cls, tz: _datetime.tzinfo | None = None) -> Any:
        return cls.fromtimestamp(time.time() + _offset[0], tz)

    @classmethod
    def utcnow(cls) -> Any:
        return cls.now(_datetime.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:
        return cls.now()


_datetime.datetime = DemoDatetime  # type: ignore[misc]  # before the handler's modules import it


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, deadline: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["DEMO_LAMBDA_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = os.environ["DEMO_LAMBDA_REQUEST_ID"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def run(handler: str, event: Any) -> dict[str, Any]:
    deadline = time.monotonic() + float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    module_name, _, function_name = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        return {"result": function(event, LambdaContext(deadline))}
    except Exception as error:  # Lambda reports any exception as the invocation's error
        return {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            # the handler's frames only, as Lambda reports them (not this bootstrap's)
            "stackTrace": traceback.format_exception(
                type(error), error, error.__traceback__.tb_next if error.__traceback__ else None
            ),
        }


def main() -> None:
    code_dir, handler, done_fd = sys.argv[1:4]
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    with os.fdopen(int(done_fd), "wb", buffering=0) as done:
        # The init phase: the handler's module is imported before the first invocation, as Lambda does, so its
        # import time is not counted against the function's timeout (an import error is reported per invocation).
        module_name = handler.rpartition(".")[0]
        with contextlib.suppress(Exception):
            importlib.import_module(module_name)
        sys.stdout.flush()
        done.write(b"\n")
        for line in sys.stdin:
            request = json.loads(line)
            os.environ["DEMO_LAMBDA_REQUEST_ID"] = request["request_id"]
            os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = request["log_stream"]
            _offset[0] = float(request.get("clock_offset_seconds", 0.0))
            outcome = run(handler, request["event"])
            try:
                text = json.dumps(outcome)
            except (TypeError, ValueError) as error:  # a result Lambda could not serialize either
                text = json.dumps(
                    {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal response: {error}"}
                )
            with open(request["result_file"], "w", encoding="utf-8") as out:
                out.write(text)
            sys.stdout.flush()
            sys.stderr.flush()
            done.write(b"\n")


if __name__ == "__main__":
    main()

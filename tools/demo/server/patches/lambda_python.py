"""P2: Python Lambda functions run their deployed code for real, without Docker.

Gap: moto runs Lambda code only in Docker (no engine here); its Docker-free backend
(moto/awslambda_simple/models.py ``LambdaSimpleBackend.invoke``) echoes the request payload instead of running
the handler, so every Lambda call in the app (Step Functions tasks, EventBridge targets, the CLI) is a no-op.

Patch: ``invoke`` extracts the function's deployed zip (the bytes CloudFormation took from the asset bucket)
once per code hash, then runs ``<module>.<function>`` from it in a subprocess of the project's Python
(``lambda_bootstrap``) with the function's environment variables, Lambda's reserved variables,
``AWS_ENDPOINT_URL`` pointing back at the emulator and fake credentials; the handler's output goes to the
function's CloudWatch Logs group ``/aws/lambda/<name>``. Lambda's contract is kept: an exception answers
``FunctionError: Unhandled`` with ``{errorType, errorMessage, stackTrace}``, the function's timeout ends the run
(``Task timed out``), an ``Event`` invocation returns at once and runs in the background.

What differs from Lambda (and could hide a defect): the venv's Python (3.11) runs code declared for the function's
runtime; layers are not mounted (the venv provides boto3 and the pinned Powertools, the same versions); there is no
memory limit, no isolation between invocations beyond the process, no X-Ray daemon (``POWERTOOLS_TRACE_DISABLED``).
The handler's ``datetime.datetime.now``/``utcnow``/``today`` read the demo's clock (its offset from real time is
sent with each invocation; ``time.time`` stays real). Execution environments are reused as Lambda reuses them: an
invocation takes an idle environment of the same function version (code and configuration) or starts one (a cold
start, which imports the handler's module in an init phase that is not counted against the function's timeout, as in
Lambda), serves one invocation at a time, and is reclaimed after ``IDLE_SECONDS`` idle or when the function's code
or configuration changes. Non-Python runtimes keep moto's echo.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.lambda")
BOOTSTRAP = Path(__file__).resolve().parent.parent / "lambda_bootstrap.py"
_extract_lock = threading.Lock()
IDLE_SECONDS = 300.0  # an execution environment idle this long is reclaimed
# Lambda gives the init phase (the handler module's import) 10 s of its own; imports on a loaded 2-core machine
# can take longer, so the emulator waits this long before it calls an environment failed.
INIT_TIMEOUT_SECONDS = 120.0


def code_dir(function: Any, cache: Path) -> Path:
    """The function's deployment package, extracted once per code hash under ``cache``."""
    digest = str(function.code_sha_256) or hashlib.sha256(function.code_bytes).hexdigest()
    target = cache / digest.replace("/", "_").replace("+", "-")
    with _extract_lock:
        if not target.is_dir():
            cache.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(dir=cache, prefix=".extract-"))
            code = function.code_bytes
            if isinstance(code, str):
                code = base64.b64decode(code)
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(scratch)
            scratch.rename(target)
    return target


def handler_environment(function: Any, context: ServerContext, request_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")}
    env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
    name = str(function.function_name)
    env.update(
        {
            "AWS_ENDPOINT_URL": context.endpoint_url,
            "AWS_ACCESS_KEY_ID": "ASIADEMOLAMBDA",  # the execution role's credentials in Lambda; fake here
            "AWS_SECRET_ACCESS_KEY": "demo-lambda-secret",
            "AWS_SESSION_TOKEN": "demo-lambda-session",
            "AWS_REGION": context.region,
            "AWS_DEFAULT_REGION": context.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": request_id,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "_HANDLER": str(function.handler),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "DEMO_LAMBDA_FUNCTION_ARN": str(function.function_arn),
            "DEMO_LAMBDA_REQUEST_ID": request_id,
        }
    )
    return env


class _Environment:
    """One execution environment: a ``lambda_bootstrap`` process serving one invocation at a time."""

    def __init__(self, function: Any, context: ServerContext, code: Path, key: tuple[str, ...]) -> None:
        self.key = key
        self.timeout = float(function.timeout)
        self.log = Path(tempfile.mkstemp(prefix="lambda-", suffix=".log", dir=context.paths.lambda_code)[1])
        done_read, done_write = os.pipe()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our bootstrap, the deployed handler
                [context.python, "-I", str(BOOTSTRAP), str(code), str(function.handler), str(done_write)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=handler_environment(function, context, "init"),
                pass_fds=(done_write,),
            )
        os.close(done_write)
        self.done = os.fdopen(done_read, "rb", buffering=0)
        self.idle_since = time.monotonic()
        ready, _, _ = select.select([self.done], [], [], INIT_TIMEOUT_SECONDS)
        self.ready = bool(ready) and self.done.read(1) == b"\n"

    def invoke(self, payload: bytes, request_id: str, result_path: Path, *, clock_offset: float) -> tuple[bool, bytes]:
        """(whether it answered in time, its log output); the outcome is in ``result_path``."""
        offset = 0 if not self.ready else self.log.stat().st_size
        if not self.ready:  # the init phase did not finish: its output is this invocation's
            with self.log.open("rb") as log:
                return False, log.read()
        request = {
            "event": json.loads(payload or b"{}"),
            "request_id": request_id,
            "log_stream": request_id,
            "result_file": str(result_path),
            "clock_offset_seconds": clock_offset,  # the handler's clock is the demo's (sfn_clock)
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.done], [], [], self.timeout)
            answered = bool(ready) and self.done.read(1) == b"\n"
        except (BrokenPipeError, OSError):
            answered = False
        with self.log.open("rb") as log:
            log.seek(offset)
            output = log.read()
        return answered, output

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.done.close()
        self.log.unlink(missing_ok=True)


_idle: dict[tuple[str, ...], list[_Environment]] = {}
_pool_lock = threading.Lock()


def _environment(function: Any, context: ServerContext) -> _Environment:
    """An idle environment of this function version (code and configuration), or a new one (a cold start);
    environments idle for longer than ``IDLE_SECONDS`` are reclaimed, as Lambda does."""
    code = code_dir(function, context.paths.lambda_code)
    configuration = json.dumps(handler_environment(function, context, "init"), sort_keys=True)
    key = (str(function.function_arn), code.name, hashlib.sha256(configuration.encode()).hexdigest())
    with _pool_lock:
        now = time.monotonic()
        for other, environments in list(_idle.items()):
            stale = [
                e for e in environments if now - e.idle_since > IDLE_SECONDS or (other != key and other[0] == key[0])
            ]
            for environment in stale:
                environments.remove(environment)
                environment.close()
        while _idle.get(key):
            environment = _idle[key].pop()
            if environment.alive():
                return environment
            environment.close()
    return _Environment(function, context, code, key)


def _release(environment: _Environment) -> None:
    environment.idle_since = time.monotonic()
    with _pool_lock:
        _idle.setdefault(environment.key, []).append(environment)


def run_handler(function: Any, payload: bytes, context: ServerContext) -> tuple[bytes, bool]:
    """Run the function once; returns (response payload, whether it is a function error)."""
    request_id = str(uuid.uuid4())
    started = time.monotonic()
    environment = _environment(function, context)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as result_file:
        result_path = Path(result_file.name)
    try:
        answered, output = environment.invoke(
            payload, request_id, result_path, clock_offset=context.clock.offset_seconds()
        )
        text = result_path.read_text(encoding="utf-8") if answered and result_path.stat().st_size else ""
        if text:
            outcome: dict[str, Any] = json.loads(text)
            _release(environment)
        elif not environment.ready:
            environment.close()
            outcome = {
                "errorType": "Runtime.InitError",
                "errorMessage": f"RequestId: {request_id} Error: the init phase did not finish within "
                f"{INIT_TIMEOUT_SECONDS:.0f} s",
            }
        elif environment.alive():  # still running: the function's timeout ended it
            environment.close()
            outcome = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {environment.timeout:.2f} "
                "seconds",
            }
        else:
            code = environment.process.returncode
            environment.close()
            detail = (output.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            outcome = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with {code}: {detail}",
            }
    finally:
        result_path.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    _write_logs(function, context, request_id=request_id, output=output, outcome=outcome, seconds=seconds)
    if "result" in outcome:
        log.info("lambda %s %s ok in %.2f s", function.function_name, function.handler, seconds)
        return json.dumps(outcome["result"]).encode(), False
    log.info(
        "lambda %s %s failed in %.2f s: %s: %s",
        function.function_name,
        function.handler,
        seconds,
        outcome.get("errorType"),
        outcome.get("errorMessage"),
    )
    return json.dumps(outcome).encode(), True


def _write_logs(
    function: Any, context: ServerContext, *, request_id: str, output: bytes, outcome: dict[str, Any], seconds: float
) -> None:
    """The invocation's output in ``/aws/lambda/<name>``, framed by START/END/REPORT lines as Lambda writes."""
    from moto.logs.exceptions import ResourceAlreadyExistsException  # noqa: PLC0415
    from moto.logs.models import logs_backends  # noqa: PLC0415

    backend = logs_backends[context.account][context.region]
    group = f"/aws/lambda/{function.function_name}"
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}"
    with contextlib.suppress(ResourceAlreadyExistsException):
        backend.create_log_group(group, {})
    backend.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    lines = [f"START RequestId: {request_id} Version: $LATEST"]
    lines += output.decode(errors="replace").splitlines()
    if "errorType" in outcome:
        lines.append(json.dumps({k: outcome[k] for k in ("errorType", "errorMessage") if k in outcome}))
    lines += [f"END RequestId: {request_id}", f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms"]
    backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines if line])


def apply(context: ServerContext) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    @functools.wraps(original)
    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        function = self.get_function(function_name, qualifier)
        if not str(function.run_time or "").startswith("python"):
            return original(self, function_name, qualifier, body, headers, response_headers)
        payload = body.encode() if isinstance(body, str) else (body or b"")
        if headers.get("X-Amz-Invocation-Type") == "Event":
            threading.Thread(target=run_handler, args=(function, payload, context), daemon=True).start()
            return b""
        response, failed = run_handler(function, payload, context)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return response

    setattr(LambdaSimpleBackend, "invoke", invoke)  # noqa: B010
    shutil.rmtree(context.paths.lambda_code, ignore_errors=True)  # stale packages of an earlier server

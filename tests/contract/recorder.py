"""pytest plugin: record every boto3 operation the project's code makes, attributed to the code that made it.

Loaded for every session (``tests/conftest.py``). A ``before-parameter-build`` hook on every botocore session
(so on every client: boto3's default session, the tests' own sessions, moto-backed and Stubber-wrapped clients;
Stubber answers at ``before-call``, after this hook) records the service, the operation, the API parameters and
the region, and attributes the call by walking the Python stack:

- the innermost run of project frames (``lambdas/``, ``tools/mlops_cli/``, ``tools/bootstrap_serving.py``,
  ``pipeline_defs/scripts/``, ``monitoring_job/``) that leads to the call is the code acting; its outermost
  frame is the entry, e.g. ``lambdas.deployment.promote`` when a test calls ``promote()`` (its
  ``baselines.py`` copy included), ``tools.mlops_cli`` for the CLI, ``pipeline_defs.scripts.dataset`` for the
  dataset step. A Lambda invoked in-process from inside the CLI's tests is a run of its own, so it is
  attributed to its handler, not to the CLI;
- a call made by test code itself (setting up moto) is not the project's and is left out. Test doubles that
  stand in for a client are transparent (``contract_double``): what the code calls on them is recorded.

The settings the code works with (the settings objects, built by their ``from_env``, found in the frames of
the run) are kept with each call, so the contract check can pair the test's values with the values the same
class reads from a deployed function's ``Environment``. ``write_calls`` persists the calls as JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import inspect
import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
# The code that runs in AWS or with an operator's credentials against it. Not the synth-time pipeline builder
# (pipeline_defs/definition.py) nor the local tools (demo emulators, cost estimate), whose calls are not AWS's.
PRODUCT_DIRS = (
    *(str(ROOT / d) + os.sep for d in ("lambdas", "tools/mlops_cli", "pipeline_defs/scripts", "monitoring_job")),
    str(ROOT / "tools" / "bootstrap_serving.py"),
)
TESTS_DIR = str(ROOT / "tests") + os.sep
# Frames of these stay inside a run of project frames (a handler wrapped by Powertools, a botocore paginator).
LIBRARY_DIRS = tuple(
    {os.path.dirname(os.path.dirname(botocore.__file__)) + os.sep, os.path.dirname(os.__file__) + os.sep}
)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.contexts: list[list[dict[str, Any]]] = []
        self._context_ids: dict[str, int] = {}
        self.test = ""
        self.lock = threading.Lock()

    def context_id(self, context: list[dict[str, Any]]) -> int:
        key = json.dumps(context, sort_keys=True)
        if key not in self._context_ids:
            self._context_ids[key] = len(self.contexts)
            self.contexts.append(context)
        return self._context_ids[key]


RECORDER = _Recorder()
_INSIDE_DOUBLE = threading.local()


def _module_of(filename: str) -> str:
    relative = Path(filename).resolve().relative_to(ROOT).with_suffix("")
    return ".".join(relative.parts)


def _run_of(frame: Any) -> list[Any] | None:
    """The innermost run of project frames on the stack (innermost first), or None.

    Library frames (botocore, moto, Powertools' decorators) are passed over; so are the frames of test doubles
    that stand in for a client (``contract_transparent``). Any other test frame ends the run, and one met
    before any project frame makes the call the test's own.
    """
    run: list[Any] = []
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(PRODUCT_DIRS):
            run.append(frame)
        elif filename.startswith(TESTS_DIR):
            if not getattr(frame.f_locals.get("self"), "contract_transparent", False):
                return run or None
        elif run and not filename.startswith(LIBRARY_DIRS):
            break
        frame = frame.f_back
    return run or None


def jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    """``value`` as JSON: dataclasses as objects, bytes as a short base64 prefix, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "b64:" + base64.b64encode(bytes(value)[:64]).decode()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum
        return value.value
    return f"<{type(value).__name__}>"


def is_settings(value: Any) -> bool:
    """A settings object of the Lambda code: a dataclass whose class reads itself from the environment."""
    kind = type(value)
    return (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and kind.__module__.startswith("lambdas.")
        and inspect.ismethod(getattr(kind, "from_env", None))  # a classmethod
    )


def settings_class_of(path: str) -> Any:
    """The class named ``module:qualname``."""
    import importlib  # noqa: PLC0415

    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _settings_in(run: list[Any]) -> list[dict[str, Any]]:
    """The settings objects the run works with: in its frames' locals and module globals (a handler reads its
    settings once at import), and one attribute deep (``self.target``)."""
    found: dict[int, Any] = {}
    scopes = [frame.f_locals for frame in run] + list({id(f.f_globals): f.f_globals for f in run}.values())
    for scope in scopes:
        for value in list(scope.values()):
            candidates = [value, *(vars(value).values() if hasattr(value, "__dict__") else [])]
            for candidate in candidates:
                if is_settings(candidate):
                    found.setdefault(id(candidate), candidate)
    return sorted(
        ({"class": f"{type(v).__module__}:{type(v).__qualname__}", "fields": jsonable(v)} for v in found.values()),
        key=lambda s: json.dumps(s, sort_keys=True),
    )


def _on_call(params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
    if model is not None and not getattr(_INSIDE_DOUBLE, "active", False):
        record_call(model.service_model.service_name, model.name, params, region=(context or {}).get("client_region"))


def record_call(service: str, operation: str, params: Any, *, region: str | None = None, depth: int = 2) -> None:
    """Record one operation for the code on the stack: the botocore hook, and test doubles that answer an
    operation without botocore (``contract_double``) call this."""
    run = _run_of(sys._getframe(depth))
    if run is None:
        return
    entry = run[-1]
    record = {
        "caller": _module_of(entry.f_code.co_filename),
        "function": entry.f_code.co_name,
        "service": service,
        "operation": operation,
        "region": region,
        "params": jsonable(params or {}),
        "test": RECORDER.test,
    }
    settings = _settings_in(run)
    with RECORDER.lock:
        record["settings"] = RECORDER.context_id(settings)
        RECORDER.calls.append(record)


def contract_double(service: str) -> Any:
    """Class decorator for a test double that stands in for a boto3 client of ``service``.

    Each method named after one of the service's operations (``update_endpoint``) records that operation, with
    its keyword arguments, for the code that called it: a double answers some operations without botocore, and
    the calls it makes on its own behalf (moto lookups behind a fake answer) are not the code's, so they are
    not recorded. Other attributes the double passes through to a real client are recorded by the botocore
    hook as usual; the double's frames stay transparent to the attribution.
    """
    operations = {
        xform_name(name): name for name in botocore.session.get_session().get_service_model(service).operation_names
    }

    def decorate(cls: type) -> type:
        for name, attribute in list(vars(cls).items()):
            if name in operations and callable(attribute):
                setattr(cls, name, _recording(attribute, service, operations[name]))
        cls.contract_transparent = True  # type: ignore[attr-defined]
        return cls

    return decorate


def _recording(method: Any, service: str, operation: str) -> Any:
    @functools.wraps(method)
    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_INSIDE_DOUBLE, "active", False):
            return method(self, *args, **kwargs)
        record_call(service, operation, kwargs, region=os.environ.get("AWS_DEFAULT_REGION"), depth=2)
        _INSIDE_DOUBLE.active = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _INSIDE_DOUBLE.active = False

    return recorded


def _install_session_hook() -> None:
    original = botocore.session.Session.__init__
    if getattr(original, "_contract_recorder", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.register("before-parameter-build", _on_call, unique_id="contract-recorder")

    init._contract_recorder = True  # type: ignore[attr-defined]
    botocore.session.Session.__init__ = init  # type: ignore[method-assign]


def _transfer_target(upload: bool) -> Any:
    """(bucket, key) of a transfer call's arguments: ``upload_file(Filename, Bucket, Key)``,
    ``download_file(Bucket, Key, Filename)``."""

    def where(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
        first = 1 if upload else 0
        bucket = kwargs.get("Bucket", args[first] if len(args) > first else None)
        key = kwargs.get("Key", args[first + 1] if len(args) > first + 1 else None)
        return bucket, key

    return where


def _install_transfer_hooks() -> None:
    """``upload_file``/``download_file`` run their requests on s3transfer's worker threads, whose stacks hold no
    project frame: record the object operation where the project calls the transfer method."""
    from boto3.s3 import inject  # noqa: PLC0415

    operations = {
        "upload_file": ("PutObject", _transfer_target(upload=True)),
        "upload_fileobj": ("PutObject", _transfer_target(upload=True)),
        "download_file": ("GetObject", _transfer_target(upload=False)),
        "download_fileobj": ("GetObject", _transfer_target(upload=False)),
    }
    for name, (operation, where) in operations.items():
        original = getattr(inject, name)
        if getattr(original, "_contract_recorder", False):
            continue
        setattr(inject, name, _wrap_transfer(original, operation, where))


def _wrap_transfer(original: Any, operation: str, where: Any) -> Any:
    def transfer(self: Any, *args: Any, **kwargs: Any) -> Any:
        bucket, key = where(args, kwargs)
        record_call("s3", operation, {"Bucket": bucket, "Key": key}, region=self.meta.region_name, depth=2)
        return original(self, *args, **kwargs)

    transfer._contract_recorder = True  # type: ignore[attr-defined]
    return transfer


# At import, not in pytest_configure: pytest imports the conftests of the paths it is given (which create
# module-level sessions, e.g. the deployment tests' SESSION) before it configures plugins.
_install_session_hook()
_install_transfer_hooks()


def recording() -> dict[str, Any]:
    """What was recorded so far: ``{"calls": [...], "settings": [<settings objects of each context>]}``."""
    with RECORDER.lock:
        return {"calls": list(RECORDER.calls), "settings": list(RECORDER.contexts)}


def write_calls(path: Path) -> Path:
    """Persist what was recorded so far; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recording(), sort_keys=True))
    return path


# ---- pytest hooks -----------------------------------------------------------------------------------------------


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--contract-record",
        default=None,
        help="write the boto3 calls the project's code made in this session to this JSON file at the end",
    )
    parser.addoption(
        "--contract-calls",
        default=None,
        help="the IAM contract tier checks the calls of this recording (--contract-record) instead of recording",
    )


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    RECORDER.test = nodeid


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    target = session.config.getoption("--contract-record")
    if target:
        write_calls(Path(target))

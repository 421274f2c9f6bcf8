"""pytest plugin: record every boto3 operation the project's code makes, attributed to the code that made it.

Loaded for every session (``tests/conftest.py``). A ``before-parameter-build`` hook on every botocore session
(so on every client: boto3's default session, the tests' own sessions, moto-backed and Stubber-wrapped clients;
Stubber answers at ``before-call``, after this hook) records the service, the operation, the API parameters and
the region, and attributes the call by walking the Python stack:

- the innermost run of project frames (``lambdas/``, ``tools/``, ``pipeline_defs/``, ``monitoring_job/``) that
  leads to the call is the code acting; its outermost frame is the entry, e.g. ``lambdas.deployment.promote``
  when a test calls ``promote()`` (its ``baselines.py`` copy included), ``tools.mlops_cli`` for the CLI,
  ``pipeline_defs.scripts.dataset`` for the dataset step. A Lambda invoked in-process from inside the CLI's
  tests is a run of its own, so it is attributed to its handler, not to the CLI;
- a call made by test code itself (setting up moto) is not the project's and is left out.

The settings a test hands to the code (the mappings given to the settings classes' ``from_env`` and the
process environment) are kept with each call, so the contract check can put the deployed values (the
template's ``Environment``) in place of the test's values. The calls are written as JSON by
``write_calls`` (the contract tier does that before it checks them).
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = tuple(str(ROOT / d) + os.sep for d in ("lambdas", "tools", "pipeline_defs", "monitoring_job"))
TESTS_DIR = str(ROOT / "tests") + os.sep
# Frames of these stay inside a run of project frames (a handler wrapped by Powertools, a botocore paginator).
LIBRARY_DIRS = tuple({os.path.dirname(os.path.dirname(botocore.__file__)) + os.sep, os.path.dirname(os.__file__) + os.sep})
SETTINGS_MODULES = (
    "lambdas.deployment.settings",
    "lambdas.retraining.settings",
    "lambdas.quality.settings",
    "lambdas.monitoring.settings",
    "lambdas.ingestion.logic",
)
# Process environment variables that are never a setting of the code under test.
_NOT_SETTINGS = ("AWS_", "POWERTOOLS_", "PYTEST", "PATH", "HOME", "PYTHON", "VIRTUAL_ENV", "LC_", "LANG", "TERM")


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.contexts: list[dict[str, str]] = []
        self._context_ids: dict[str, int] = {}
        self.test = ""
        self.settings: dict[str, str] = {}
        self.lock = threading.Lock()

    def context_id(self, context: dict[str, str]) -> int:
        key = json.dumps(context, sort_keys=True)
        if key not in self._context_ids:
            self._context_ids[key] = len(self.contexts)
            self.contexts.append(context)
        return self._context_ids[key]


RECORDER = _Recorder()


def _module_of(filename: str) -> str:
    relative = Path(filename).resolve().relative_to(ROOT).with_suffix("")
    return ".".join(relative.parts)


def caller_of(frame: Any) -> tuple[str, str] | None:
    """(entry module, function) of the innermost run of project frames on the stack, or None.

    Library frames (botocore, moto, Powertools' decorators) are passed over; so are the frames of test doubles
    that stand in for a client (a class with ``contract_transparent = True``, e.g. ``FakeSageMaker``). Any other
    test frame ends the run, and one met before any project frame makes the call the test's own.
    """
    entry = None
    in_run = False
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(PRODUCT_DIRS):
            in_run = True
            entry = frame
        elif filename.startswith(TESTS_DIR):
            if not getattr(frame.f_locals.get("self"), "contract_transparent", False):
                if not in_run:
                    return None
                break
        elif in_run and not filename.startswith(LIBRARY_DIRS):
            break
        frame = frame.f_back
    if entry is None:
        return None
    return _module_of(entry.f_code.co_filename), entry.f_code.co_name


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "b64:" + base64.b64encode(bytes(value)[:64]).decode()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return f"<{type(value).__name__}>"


def _settings_now() -> dict[str, str]:
    found = {
        k: v
        for k, v in os.environ.items()
        if k.isupper() and not k.startswith(_NOT_SETTINGS) and len(v) < 2000 and not k.startswith("_")
    }
    found.update(RECORDER.settings)
    return found


def _on_call(params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
    if model is not None:
        record_call(model.service_model.service_name, model.name, params, region=(context or {}).get("client_region"))


def record_call(service: str, operation: str, params: Any, *, region: str | None = None, depth: int = 2) -> None:
    """Record one operation for the code on the stack: the botocore hook, and test doubles that answer an
    operation without botocore (e.g. ``FakeSageMaker.update_endpoint``) call this."""
    caller = caller_of(sys._getframe(depth))
    if caller is None:
        return
    record = {
        "caller": caller[0],
        "function": caller[1],
        "service": service,
        "operation": operation,
        "region": region,
        "params": _jsonable(params or {}),
        "test": RECORDER.test,
    }
    with RECORDER.lock:
        record["settings"] = RECORDER.context_id(_settings_now())
        RECORDER.calls.append(record)


def _install_session_hook() -> None:
    original = botocore.session.Session.__init__
    if getattr(original, "_contract_recorder", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.register("before-parameter-build", _on_call, unique_id="contract-recorder")

    init._contract_recorder = True  # type: ignore[attr-defined]
    botocore.session.Session.__init__ = init  # type: ignore[method-assign]


def _install_transfer_hooks() -> None:
    """``upload_file``/``download_file`` run their requests on s3transfer's worker threads, whose stacks hold no
    project frame: record the object operation where the project calls the transfer method."""
    import boto3.s3.inject as inject  # noqa: PLC0415

    operations = {
        "upload_file": ("PutObject", lambda a, k: (k.get("Bucket", a[1] if len(a) > 1 else None), k.get("Key", a[2] if len(a) > 2 else None))),
        "upload_fileobj": ("PutObject", lambda a, k: (k.get("Bucket", a[1] if len(a) > 1 else None), k.get("Key", a[2] if len(a) > 2 else None))),
        "download_file": ("GetObject", lambda a, k: (k.get("Bucket", a[0] if a else None), k.get("Key", a[1] if len(a) > 1 else None))),
        "download_fileobj": ("GetObject", lambda a, k: (k.get("Bucket", a[0] if a else None), k.get("Key", a[1] if len(a) > 1 else None))),
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


def _install_settings_hooks() -> None:
    for name in SETTINGS_MODULES:
        module = importlib.import_module(name)
        for attribute in vars(module).values():
            if not isinstance(attribute, type) or attribute.__module__ != name:
                continue
            from_env = attribute.__dict__.get("from_env")
            if not isinstance(from_env, classmethod) or getattr(from_env.__func__, "_contract_recorder", False):
                continue
            setattr(attribute, "from_env", classmethod(_wrap_from_env(from_env.__func__)))


def _wrap_from_env(function: Any) -> Any:
    def from_env(cls: Any, environ: Mapping[str, str], *args: Any, **kwargs: Any) -> Any:
        RECORDER.settings.update({k: str(v) for k, v in environ.items() if isinstance(k, str) and k.isupper()})
        return function(cls, environ, *args, **kwargs)

    from_env._contract_recorder = True  # type: ignore[attr-defined]
    return from_env


# At import, not in pytest_configure: pytest imports the conftests of the paths it is given (which create
# module-level sessions, e.g. the deployment tests' SESSION) before it configures plugins.
_install_session_hook()
_install_transfer_hooks()
_install_settings_hooks()


def write_calls(path: Path) -> Path:
    """Persist what was recorded so far; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with RECORDER.lock:
        payload = {"calls": list(RECORDER.calls), "settings": list(RECORDER.contexts)}
    path.write_text(json.dumps(payload, sort_keys=True))
    return path


# ---- pytest hooks -----------------------------------------------------------------------------------------------


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--contract-record",
        default=None,
        help="write the boto3 calls the project's code made in this session to this JSON file at the end",
    )


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    RECORDER.test = nodeid
    RECORDER.settings = {}


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    target = session.config.getoption("--contract-record")
    if target:
        write_calls(Path(target))

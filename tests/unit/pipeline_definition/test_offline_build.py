"""Building the definition is offline and leaves the process as it found it (its speed: benchmarks/synth)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request
from pathlib import Path

import boto3
import pytest

from config import DEV, FRAUD_DETECTION, STAGING, ModelDeployment
from pipeline_defs.definition import build_pipeline_definition
from tests.unit.pipeline_definition.conftest import CONTEXT

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup and connection attempt, recorded and refused (on top of pytest-socket).

    Recording matters: the SDK swallows errors from its telemetry calls, so a refused attempt alone would
    not fail a test.
    """
    attempts: list[str] = []

    def refuse(kind: str):  # type: ignore[no-untyped-def]
        def refused(*args: object, **_: object) -> None:
            attempts.append(f"{kind}{args[1:] if kind == 'connect' else args}")
            raise OSError(f"network attempt refused by the test: {kind}")

        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
    return attempts


def test_building_makes_no_network_call(network_attempts: list[str]) -> None:
    build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=STAGING), CONTEXT)
    for thread in threading.enumerate():  # telemetry would send from a background thread
        if thread.name == "sagemaker-telemetry":
            thread.join(timeout=5)

    assert network_attempts == []


def test_the_network_recorder_sees_an_attempt(network_attempts: list[str]) -> None:
    with pytest.raises(OSError, match="refused"):
        urllib.request.urlopen("http://example.com", timeout=1)

    assert network_attempts


def test_building_restores_environment_logging_and_boto3_defaults() -> None:
    environment = dict(os.environ)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    default_session = boto3.DEFAULT_SESSION

    build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=DEV), CONTEXT)

    assert dict(os.environ) == environment
    assert (root.handlers, root.level) == (handlers, level)
    assert logging.root.manager.disable == logging.NOTSET
    assert boto3.DEFAULT_SESSION is default_session
    config_manager = sys.modules["sagemaker.core.config.config_manager"]
    assert config_manager.jsonschema is sys.modules["jsonschema"]


_COLD_BUILD = textwrap.dedent("""
    import json, logging, os, socket, sys
    attempts = []
    def refused(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("refused")
    socket.getaddrinfo = socket.create_connection = refused
    socket.socket.connect = socket.socket.connect_ex = refused
    environment, handlers = dict(os.environ), list(logging.getLogger().handlers)
    from config import FRAUD_DETECTION, PROD, ModelDeployment
    import pipeline_defs.definition as definition
    sdk_at_import = sorted(m for m in sys.modules if m.startswith("sagemaker"))
    from tests.unit.pipeline_definition.conftest import CONTEXT
    text = definition.build_pipeline_definition(ModelDeployment(spec=FRAUD_DETECTION, env=PROD), CONTEXT)
    print(json.dumps({"attempts": attempts, "bytes": len(text),
                      "sdk_at_import": sdk_at_import, "environment_kept": dict(os.environ) == environment,
                      "handlers_kept": list(logging.getLogger().handlers) == handlers}))
""")


def test_a_cold_build_without_credentials_imports_the_sdk_lazily_and_stays_offline(tmp_path: Path) -> None:
    """A fresh interpreter with no AWS credentials or region and a profile that does not exist: the SDK's
    import-time client and every credential provider would otherwise fail or go to the network (EC2 metadata)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    environment |= {"HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "AWS_PROFILE": "not-on-this-machine"}

    result = subprocess.run(
        [sys.executable, "-c", _COLD_BUILD],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["sdk_at_import"] == []
    assert report["environment_kept"]
    assert report["handlers_kept"]
    assert report["bytes"] > 10_000

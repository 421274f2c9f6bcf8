"""Fixtures of the emulator tests: DEV synthesized once, moto served on loopback in this process.

The jobs' containers are separate processes, so moto is served over HTTP on 127.0.0.1 (``allow_hosts``);
every boto3 call of the tests and the emulators goes there. The only routing wired here is Athena's (a query
runs when it starts); ``tools/demo/server`` wires the same functions into the demo's server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.athena.models import AthenaBackend

from config import ENVIRONMENTS
from tests.integration.demo.support import REGION, World, moto_server, reset
from tests.support.synth import Synthesized, synthesize
from tools.demo.emulators import athena
from tools.demo.emulators.runtime import Aws

# Every test module of this folder: ``pytestmark = LOOPBACK_ONLY``.
LOOPBACK_ONLY = [pytest.mark.slow, pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="session")
def dev_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The DEV stage, synthesized once for the emulator tests (about 15-30 s)."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.demo"), environments=[e for e in ENVIRONMENTS if e.name == "dev"]
    )


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(server_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    reset(server_url)
    client = Aws(region=REGION, endpoint_url=server_url)
    original = AthenaBackend.start_query_execution

    def start_and_run(self: AthenaBackend, *args: Any, **kwargs: Any) -> str:
        query_id: str = original(self, *args, **kwargs)
        athena.run_query(client, query_id, workdir=tmp_path / "athena")
        return query_id

    monkeypatch.setattr(AthenaBackend, "start_query_execution", start_and_run)
    return client


@pytest.fixture
def world(aws: Aws, dev_synth: Synthesized) -> World:
    created = World(aws=aws, synth=dev_synth)
    created.create_platform()
    return created

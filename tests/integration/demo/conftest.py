"""Fixtures of the emulator tests: DEV synthesized once, moto served on loopback in this process.

The jobs' containers are separate processes, so moto is served over HTTP on 127.0.0.1 (``allow_hosts``);
every boto3 call of the tests and the emulators goes there. The only routing wired here is Athena's (a query
runs when it starts); ``tools/demo/server`` wires the same functions into the demo's server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.athena.models import AthenaBackend

from config import ENVIRONMENTS, FRAUD_DETECTION
from pipeline_defs.local_run import LocalRunConfig, run
from tests.integration.demo.support import REGION, World, moto_server, reset
from tests.support.synth import Synthesized, synthesize
from tools.demo.emulators import athena
from tools.demo.emulators.runtime import Aws
from tools.demo.server.environment import DemoPaths
from tools.demo.server.patches import ServerContext

# Every test module of this folder: ``pytestmark = LOOPBACK_ONLY``.
LOOPBACK_ONLY = [pytest.mark.slow, pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="session")
def dev_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The DEV stage, synthesized once for the emulator tests (about 15-30 s). With the example model only: the
    demo's story is that model's, trained and bootstrapped by its local pipeline run (an added model's serving
    stack would need its own first model)."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.demo"),
        environments=[e for e in ENVIRONMENTS if e.name == "dev"],
        models=[FRAUD_DETECTION],
    )


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local pipeline run (sample data, features, dataset, model, baselines), shared by the emulator tests."""
    out = tmp_path_factory.mktemp("local-run")
    run(LocalRunConfig(out=out, customers=150, days=30, seed=21))
    return out


@dataclass(frozen=True)
class Routed:
    """A moto server with the demo server's routing of endpoints, alarms and the Feature Store runtime."""

    url: str
    context: ServerContext


ROUTED_CLOCK_SPEEDUP = 300.0  # a 420 s guardrail deployment runs in about 1.5 s


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routed]:
    """moto served on loopback with the server's own routing patches (``route_endpoints``, ``route_alarms``,
    ``route_feature_store``) set for one test module and undone after it: they change moto's classes, which the
    other test folders use in-process (an UpdateEndpointWeightsAndCapacities that takes time breaks them). A new
    server: moto builds a service's URL map on its first request, so the routes must be in place before."""
    from moto.moto_api._internal import urls as api_urls  # noqa: PLC0415
    from moto.sagemaker import urls as sagemaker_urls  # noqa: PLC0415

    from tools.demo.server.patches import route_alarms, route_endpoints, route_feature_store  # noqa: PLC0415

    with moto_server() as url:
        account = Aws(region=REGION, endpoint_url=url).account
        context = ServerContext(
            endpoint_url=url,
            account=account,
            region=REGION,
            python=sys.executable,
            paths=DemoPaths(tmp_path_factory.mktemp("routed")),
            clock_speedup=ROUTED_CLOCK_SPEEDUP,
        )
        patcher = pytest.MonkeyPatch()
        for owner, name, value in route_endpoints.replacements(context):
            patcher.setattr(owner, name, value, raising=False)  # UpdateEndpoint is new on moto's class
        patcher.setitem(api_urls.url_paths, route_endpoints.FLUSH_PATH, route_endpoints.flush_route(context))
        patcher.setitem(api_urls.url_paths, route_alarms.EVALUATE_PATH, route_alarms.evaluate_route(context))

        def feature_store_runtime(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
            return route_feature_store.handle(context, request, full_url)

        patcher.setitem(sagemaker_urls.url_paths, route_feature_store.GROUP_PATH, feature_store_runtime)
        try:
            yield Routed(url=url, context=context)
        finally:
            patcher.undo()


@pytest.fixture
def routed_world(routed: Routed, dev_synth: Synthesized) -> World:
    """An empty account on the routed server with the platform's resources (buckets, key, feature groups...)."""
    reset(routed.url)
    created = World(aws=Aws(region=REGION, endpoint_url=routed.url), synth=dev_synth)
    created.create_platform()
    return created


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

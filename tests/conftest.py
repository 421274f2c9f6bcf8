"""Test tiers by folder: tests/unit -> unit, tests/infra -> infra, tests/integration -> integration,
tests/contract -> contract (the IAM contract tier, run last: it checks the calls the other tiers recorded).

Sockets are disabled for every test (pytest-socket, see pyproject addopts); unix sockets stay allowed for
jsii, which talks to its Node.js process over pipes. Nothing in the suite reaches the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# urllib3 probes IPv6 support at import by creating (never connecting) a socket; import it here, before
# pytest-socket blocks sockets for each test, so that probe is not reported as a blocked network attempt.
import urllib3  # noqa: F401

from tests.support.specs import EXTRA_SPECS, add_to_models

# A run with MLOPS_TEST_EXTRA_SPECS=churn tests an app with a second model (make test-two-models): the spec
# joins config.MODELS here, before any test module or fixture reads it.
if EXTRA_SPECS:
    add_to_models(EXTRA_SPECS)

if TYPE_CHECKING:
    from tests.support.synth import Synthesized

ROOT = Path(__file__).resolve().parent.parent
# Records the boto3 calls the project's code makes in its tests, for the IAM contract tier (tests/contract).
pytest_plugins = ["tests.contract.recorder"]

# Fake credentials and a fixed region for every boto3 client the tests create (moto or Stubber).
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MLOps/Test")


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """One synth of the whole app per test session: the infra and contract tiers read it."""
    from tests.support.synth import synthesize  # noqa: PLC0415 - the CDK import is for the tiers that synthesize

    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "infra", "integration", "contract"):
            item.add_marker(getattr(pytest.mark, tier))
    # The contract tier checks the calls the other tiers' tests made: it runs last.
    items.sort(key=lambda item: item.get_closest_marker("contract") is not None)

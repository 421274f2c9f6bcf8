"""The synthesized retraining state machine of every environment (and of an A/B variant), run by moto's interpreter
with the real handlers in-process (tests/support/sfn_offline.py).

One synth of all the stages per session: each environment's world is built from its own templates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.integration.retraining.checks")

from config import ENVIRONMENTS  # noqa: E402 - after the assert rewrite is registered
from tests.support.sfn_offline import (  # noqa: E402
    AB_ENVIRONMENT,
    Resolved,
    RetrainingWorld,
    ab_environment,
    environment,
    resolve,
    retraining_world,
    synthesize_environments,
)
from tests.support.synth import Synthesized  # noqa: E402


@pytest.fixture(scope="session")
def app_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev, staging, prod and the A/B variant, synthesized once for every test of this folder."""
    return synthesize_environments(Path(tmp_path_factory.mktemp("cdk.out")), [*ENVIRONMENTS, ab_environment()])


@pytest.fixture(scope="session")
def resolved(app_synth: Synthesized) -> Resolved:
    """dev: blue_green, automatic approval."""
    return resolve(app_synth, environment("dev"))


@pytest.fixture(scope="session")
def staging_resolved(app_synth: Synthesized) -> Resolved:
    """staging: shadow, automatic approval."""
    return resolve(app_synth, environment("staging"))


@pytest.fixture(scope="session")
def prod_resolved(app_synth: Synthesized) -> Resolved:
    """prod: canary, manual approval."""
    return resolve(app_synth, environment("prod"))


@pytest.fixture(scope="session")
def ab_resolved(app_synth: Synthesized) -> Resolved:
    """staging with the ab strategy."""
    return resolve(app_synth, environment(AB_ENVIRONMENT))


@pytest.fixture
def world(resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(resolved, monkeypatch) as created:
        yield created


@pytest.fixture
def staging_world(staging_resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(staging_resolved, monkeypatch) as created:
        yield created


@pytest.fixture
def prod_world(prod_resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(prod_resolved, monkeypatch) as created:
        yield created


@pytest.fixture
def ab_world(ab_resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(ab_resolved, monkeypatch) as created:
        yield created

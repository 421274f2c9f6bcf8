"""The infra tier reads the session's one synth of the whole app (the ``synth`` fixture, ``tests/conftest.py``).

``model_monitor_synth`` adds prod with the ``model_monitor`` backend: no example environment uses it (it is an
opt-in for accounts that already have Model Monitor, ADR 0008), so it is synthesized here to keep it tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.environments import PROD_WITH_MODEL_MONITOR, STAGING_IN_EXISTING_VPC
from tests.support.synth import Synthesized, synthesize


@pytest.fixture(scope="session")
def model_monitor_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("model-monitor")), environments=[PROD_WITH_MODEL_MONITOR])


@pytest.fixture(scope="session")
def existing_vpc_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("existing-vpc")), environments=[STAGING_IN_EXISTING_VPC])

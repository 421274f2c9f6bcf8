"""One synth of the whole app per test session; every infra test reads from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.synth import Synthesized, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("cdk.out")))

"""One masked snapshot per stack. A diff here is a change to deployed infrastructure: review it, then run
`make snapshot-update` and say why in the commit message."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import ENVIRONMENTS
from tests.support.snapshot import masked
from tests.support.synth import Synthesized


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", [e.name for e in ENVIRONMENTS])
def test_platform_stack_matches_snapshot(synth: Synthesized, snapshot_json: SnapshotAssertion, env: str) -> None:
    assert masked(synth.json(env, "platform")) == snapshot_json

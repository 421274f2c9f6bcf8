"""One masked snapshot per stack. A diff here is a change to deployed infrastructure: review it, then run
`make snapshot-update` and say why in the commit message."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import ENVIRONMENTS, MODELS
from tests.support.snapshot import masked
from tests.support.synth import Synthesized


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


STACKS = [
    (e.name, stack)
    for e in ENVIRONMENTS
    for stack in (
        "platform",
        *(f"{m.name}-{kind}" for m in MODELS for kind in ("training", "serving", "monitoring", "retraining")),
    )
]


def test_every_synthesized_stack_has_a_snapshot(synth: Synthesized) -> None:
    assert set(synth.templates) == set(STACKS)


@pytest.mark.parametrize(("env", "stack"), STACKS)
def test_stack_matches_snapshot(synth: Synthesized, snapshot_json: SnapshotAssertion, env: str, stack: str) -> None:
    assert masked(synth.json(env, stack)) == snapshot_json

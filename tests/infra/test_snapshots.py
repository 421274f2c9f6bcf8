"""One masked snapshot per stack. A diff here is a change to deployed infrastructure: review it, then run
`make snapshot-update` and say why in the commit message."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from config import ENVIRONMENTS, MODELS, ModelSpec
from tests.support.snapshot import masked
from tests.support.specs import EXTRA_SPECS
from tests.support.synth import Synthesized


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def stacks_of(models: Sequence[ModelSpec], *, platform: bool) -> list[tuple[str, str]]:
    kinds = ("training", "serving", "monitoring", "retraining")
    return [
        (e.name, stack)
        for e in ENVIRONMENTS
        for stack in (*(["platform"] if platform else []), *(f"{m.name}-{k}" for m in models for k in kinds))
    ]


# The snapshots record the committed config. A run with test-only specs added (make test-two-models) checks
# that adding a model leaves the other models' stacks as recorded; the platform stack, which holds every
# model's stateful resources, and the added models' stacks have no snapshot there (tests/infra/test_second_model.py
# asserts on them).
RECORDED_MODELS = [m for m in MODELS if m not in EXTRA_SPECS]
STACKS = stacks_of(RECORDED_MODELS, platform=not EXTRA_SPECS)


def test_every_synthesized_stack_has_a_snapshot(synth: Synthesized) -> None:
    unrecorded = stacks_of(EXTRA_SPECS, platform=bool(EXTRA_SPECS))
    assert set(synth.templates) == {*STACKS, *unrecorded}


@pytest.mark.parametrize(("env", "stack"), STACKS)
def test_stack_matches_snapshot(synth: Synthesized, snapshot_json: SnapshotAssertion, env: str, stack: str) -> None:
    assert masked(synth.json(env, stack)) == snapshot_json

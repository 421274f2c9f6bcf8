"""The synthesized DEV retraining state machine, run by moto's interpreter with the real handlers in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import ApprovalMode
from tests.support.sfn_offline import (
    Resolved,
    RetrainingWorld,
    dev_environment,
    resolve,
    retraining_world,
    synthesize_dev,
)
from tests.support.synth import Synthesized


@pytest.fixture(scope="session")
def dev_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """DEV synthesized once (about 12 s) for every test of this folder."""
    return synthesize_dev(Path(tmp_path_factory.mktemp("cdk.out")))


@pytest.fixture(scope="session")
def resolved(dev_synth: Synthesized) -> Resolved:
    return resolve(dev_synth)


@pytest.fixture(scope="session")
def manual_resolved(tmp_path_factory: pytest.TempPathFactory) -> Resolved:
    """DEV with manual approval (DEV itself approves automatically), synthesized once for the approval tests."""
    manual = dataclasses.replace(dev_environment(), approval=ApprovalMode.MANUAL)
    return resolve(synthesize_dev(Path(tmp_path_factory.mktemp("cdk.out.manual")), manual))


@pytest.fixture
def world(resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(resolved, monkeypatch) as created:
        yield created


@pytest.fixture
def manual_world(manual_resolved: Resolved, monkeypatch: pytest.MonkeyPatch) -> Iterator[RetrainingWorld]:
    with retraining_world(manual_resolved, monkeypatch) as created:
        yield created

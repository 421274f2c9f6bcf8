"""Shared inputs for the feature tests: a small deterministic stream of real-looking transactions."""

from __future__ import annotations

import pytest

from lambdas.shared.features import TransactionEvent, parse_event
from pipeline_defs.sample_data import SampleConfig, generate


@pytest.fixture(scope="session")
def sample_events() -> list[TransactionEvent]:
    data = generate(SampleConfig(customers=12, days=12, seed=3))
    return [parse_event(raw) for raw in data.events]

"""Environments the tests synthesize besides the examples."""

from __future__ import annotations

import dataclasses

from config import PROD, MonitoringBackend

# prod with the model_monitor backend: the opt-in for accounts that already have Model Monitor (ADR 0008). No
# example environment uses it, so the tests synthesize it to keep that backend tested.
PROD_WITH_MODEL_MONITOR = dataclasses.replace(
    PROD, monitoring=dataclasses.replace(PROD.monitoring, backend=MonitoringBackend.MODEL_MONITOR)
)

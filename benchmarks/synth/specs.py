"""Model specs for the scaling benchmark: the app's own, the tests' second spec, then copies of it renamed."""

from __future__ import annotations

from dataclasses import replace

from config import FRAUD_DETECTION, ModelSpec
from tests.support.specs import CHURN


def model_specs(count: int) -> tuple[ModelSpec, ...]:
    """``count`` distinct specs: fraud-detection, churn, then churn-3, churn-4, ... (each its own name, so its own
    stacks, feature groups, pipeline and code bundle)."""
    if count < 1:
        raise ValueError(f"model count must be at least 1, got {count}")
    base = (FRAUD_DETECTION, CHURN)
    extra = tuple(replace(CHURN, name=f"churn-{i}") for i in range(3, count + 1))
    return (base + extra)[:count]


def stacks_per_environment(models: int) -> int:
    """Stacks the app synthesizes per environment: the platform stack, and four per model."""
    return 1 + 4 * models

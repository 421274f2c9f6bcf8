"""A second, different model spec: proves a model is added by writing one spec and nothing else."""

from __future__ import annotations

from config import (
    Feature,
    FeatureGroupSpec,
    FeatureType,
    ModelSpec,
    ObjectiveMetric,
    Owner,
)

CHURN = ModelSpec(
    name="churn",
    description="Predicts which subscribers cancel in the next 30 days.",
    owner=Owner(team="growth-ml", email="growth-ml@example.com"),
    entity_id="subscriber_id",
    event_time="snapshot_time",
    feature_groups=(FeatureGroupSpec(name="usage", description="Weekly usage snapshot", online_ttl_days=14),),
    features=(
        Feature(name="sessions_7d", type=FeatureType.INTEGRAL, feature_group="usage"),
        Feature(name="minutes_7d", type=FeatureType.FRACTIONAL, feature_group="usage"),
        Feature(name="plan", type=FeatureType.STRING, feature_group="usage"),
    ),
    label="churned",
    objective=ObjectiveMetric.AUC,
    absolute_threshold=0.7,
    min_improvement=0.005,
)

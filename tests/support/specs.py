"""A second, different model spec: proves a model is added by writing one spec and nothing else.

``MLOPS_TEST_EXTRA_SPECS=churn`` (``make test-two-models``) adds it to ``config.MODELS`` for a whole test run
(tests/conftest.py does it before anything reads ``MODELS``), so every test runs against an app with two models.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import config
import config.models
from config import (
    Feature,
    FeatureGroupSpec,
    FeatureType,
    ModelSpec,
    ObjectiveMetric,
    Owner,
    check_models,
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
        Feature(
            name="plan", type=FeatureType.STRING, feature_group="usage", categories=("basic", "standard", "premium")
        ),
    ),
    label="churned",
    objective=ObjectiveMetric.AUC,
    absolute_threshold=0.7,
    min_improvement=0.005,
)

# A third shape: a feature group of categorical features only, a label id, more than one categorical feature.
# (A regression objective is not one a spec can have: models are binary classifiers, config/model_spec.py.)
PLAN_UPGRADE = ModelSpec(
    name="plan-upgrade",
    description="Predicts which accounts accept a plan-upgrade offer.",
    owner=Owner(team="growth-ml", email="growth-ml@example.com"),
    entity_id="account_id",
    event_time="offer_time",
    feature_groups=(
        FeatureGroupSpec(name="profile", description="The account's plan, region and sign-up channel"),
        FeatureGroupSpec(name="activity", description="The account's seats, activity and storage"),
    ),
    features=(
        Feature(
            name="plan",
            type=FeatureType.STRING,
            feature_group="profile",
            categories=("free", "basic", "team", "enterprise"),
        ),
        Feature(name="region", type=FeatureType.STRING, feature_group="profile", categories=("emea", "amer", "apac")),
        Feature(
            name="signup_channel",
            type=FeatureType.STRING,
            feature_group="profile",
            categories=("web", "sales", "partner", "mobile"),
        ),
        Feature(name="seats", type=FeatureType.INTEGRAL, feature_group="activity"),
        Feature(name="active_days_28d", type=FeatureType.INTEGRAL, feature_group="activity"),
        Feature(name="storage_gb", type=FeatureType.FRACTIONAL, feature_group="activity"),
    ),
    label="accepted",
    label_id="offer_id",
    objective=ObjectiveMetric.PR_AUC,
    absolute_threshold=0.4,
    min_improvement=0.01,
)


EXTRA_SPECS_VARIABLE = "MLOPS_TEST_EXTRA_SPECS"
SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in (CHURN, PLAN_UPGRADE)}


def extra_specs(environ: Mapping[str, str]) -> tuple[ModelSpec, ...]:
    """The specs ``MLOPS_TEST_EXTRA_SPECS`` (comma-separated names from ``SPECS``) adds to the models under test."""
    names = [n.strip() for n in environ.get(EXTRA_SPECS_VARIABLE, "").split(",") if n.strip()]
    unknown = sorted(set(names) - set(SPECS))
    if unknown:
        raise ValueError(f"{EXTRA_SPECS_VARIABLE}: unknown spec(s) {unknown}; known: {sorted(SPECS)}")
    return tuple(SPECS[n] for n in names)


def add_to_models(specs: tuple[ModelSpec, ...]) -> tuple[ModelSpec, ...]:
    """Make ``specs`` part of ``config.MODELS``, as if the user had added them to ``config/models/__init__.py``.

    Must run before any module binds ``MODELS`` (the app's ``build_app`` default, the tools' choices)."""
    bound = sorted(m for m in ("app", "tools.bootstrap_serving", "tools.mlops_cli.cli") if m in sys.modules)
    if bound:
        raise RuntimeError(f"{EXTRA_SPECS_VARIABLE}: {bound} already imported MODELS; set it before they load")
    models = check_models((*config.models.MODELS, *specs))
    config.models.MODELS = models
    config.MODELS = models
    return models


# The specs this test run adds (empty unless MLOPS_TEST_EXTRA_SPECS is set); tests/conftest.py adds them.
EXTRA_SPECS = extra_specs(os.environ)

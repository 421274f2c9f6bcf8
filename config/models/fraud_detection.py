"""The example model: card-transaction fraud detection (rare positive class).

The entity is the customer (``customer_id``). Each card transaction produces one record in each feature group
at the transaction's time: the transaction's own context, and the customer's rolling spend and counts up to
and including it. Features are computed by ``lambdas/shared/features.py`` in every path.
"""

from __future__ import annotations

from config.model_spec import (
    BusinessMetric,
    BusinessMetricKind,
    Direction,
    Feature,
    FeatureGroupSpec,
    FeatureType,
    Hyperparameters,
    ModelSpec,
    ObjectiveMetric,
    Owner,
)

_TXN = "transaction"
_SPEND = "customer-spend"

FRAUD_DETECTION = ModelSpec(
    name="fraud-detection",
    description="Scores card transactions for fraud before authorisation.",
    owner=Owner(team="risk-ml", email="risk-ml-oncall@example.com"),
    entity_id="customer_id",
    event_time="event_time",
    feature_groups=(
        FeatureGroupSpec(
            name=_TXN,
            description="The customer's latest card transaction: amount, merchant, time, channel, location.",
            online_ttl_days=30,
        ),
        FeatureGroupSpec(
            name=_SPEND,
            description="The customer's rolling 1/7/30-day spend and transaction counts, up to each transaction.",
            online_ttl_days=35,
        ),
    ),
    features=(
        Feature(name="amount", type=FeatureType.FRACTIONAL, feature_group=_TXN, description="Transaction amount"),
        Feature(
            name="merchant_category",
            type=FeatureType.STRING,
            feature_group=_TXN,
            description="Merchant category (MCC group)",
            # Append-only: a deployed model takes a category's index here as its input.
            categories=(
                "grocery",
                "restaurant",
                "fuel",
                "retail",
                "online",
                "travel",
                "electronics",
                "entertainment",
                "health",
                "cash",
            ),
        ),
        Feature(
            name="hour_of_day",
            type=FeatureType.INTEGRAL,
            feature_group=_TXN,
            description="Local hour of the transaction, 0-23",
        ),
        Feature(
            name="card_present",
            type=FeatureType.INTEGRAL,
            feature_group=_TXN,
            description="1 if the card was physically present",
        ),
        Feature(
            name="distance_from_home_km",
            type=FeatureType.FRACTIONAL,
            feature_group=_TXN,
            description="Distance between merchant and the customer's home",
        ),
        Feature(name="spend_1d", type=FeatureType.FRACTIONAL, feature_group=_SPEND),
        Feature(name="spend_7d", type=FeatureType.FRACTIONAL, feature_group=_SPEND),
        Feature(name="spend_30d", type=FeatureType.FRACTIONAL, feature_group=_SPEND),
        Feature(name="count_1d", type=FeatureType.INTEGRAL, feature_group=_SPEND),
        Feature(name="count_7d", type=FeatureType.INTEGRAL, feature_group=_SPEND),
        Feature(name="count_30d", type=FeatureType.INTEGRAL, feature_group=_SPEND),
        Feature(
            name="amount_to_avg_30d",
            type=FeatureType.FRACTIONAL,
            feature_group=_SPEND,
            description="Amount divided by the customer's 30-day average amount",
            drift_threshold=0.15,
        ),
    ),
    label="is_fraud",
    objective=ObjectiveMetric.PR_AUC,
    absolute_threshold=0.30,
    min_improvement=0.01,
    decision_threshold=0.5,
    business_metrics=(
        BusinessMetric(
            name="fraud_value_caught",
            kind=BusinessMetricKind.VALUE_CAUGHT,
            description="Value of fraudulent transactions flagged",
            unit="USD",
            direction=Direction.HIGHER_IS_BETTER,
            value_feature="amount",
        ),
        BusinessMetric(
            name="fraud_value_missed",
            kind=BusinessMetricKind.VALUE_MISSED,
            description="Value of fraudulent transactions not flagged",
            unit="USD",
            direction=Direction.LOWER_IS_BETTER,
            value_feature="amount",
            target=5000.0,
        ),
        BusinessMetric(
            name="review_cost",
            kind=BusinessMetricKind.REVIEW_COST,
            description="Cost of manually reviewing good transactions flagged as fraud",
            unit="USD",
            direction=Direction.LOWER_IS_BETTER,
            unit_cost=2.5,
            target=1000.0,
        ),
    ),
    hyperparameters=Hyperparameters(max_depth=5, eta=0.2, num_round=200),
    raw_event_ingestion=True,
    label_id="transaction_id",
)

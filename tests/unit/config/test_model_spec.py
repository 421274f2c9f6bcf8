"""What the rest of the platform derives from a spec and an environment."""

from __future__ import annotations

import pytest

from config import (
    DEV,
    ENVIRONMENTS,
    FRAUD_DETECTION,
    ConfigError,
    FeatureType,
    ModelDeployment,
    has_local_nvme,
    resolve_environments,
)


def test_fraud_spec_has_a_rare_positive_label_and_the_documented_features() -> None:
    assert FRAUD_DETECTION.feature_names[:5] == (
        "amount",
        "merchant_category",
        "hour_of_day",
        "card_present",
        "distance_from_home_km",
    )
    assert {"spend_1d", "spend_7d", "spend_30d", "count_1d", "count_7d", "count_30d"} <= set(
        FRAUD_DETECTION.feature_names
    )
    assert [f.name for f in FRAUD_DETECTION.features if f.type is FeatureType.STRING] == ["merchant_category"]


def test_per_feature_drift_threshold_falls_back_to_the_spec_default() -> None:
    assert FRAUD_DETECTION.drift_threshold_of("amount_to_avg_30d") == 0.15
    assert FRAUD_DETECTION.drift_threshold_of("amount") == FRAUD_DETECTION.default_drift_threshold
    with pytest.raises(KeyError):
        FRAUD_DETECTION.drift_threshold_of("nope")


def test_deployment_names_are_derived_per_environment() -> None:
    deployment = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
    assert deployment.endpoint_name == "fraud-detection-dev"
    assert deployment.feature_group_name("customer-spend") == "fraud-detection-dev-customer-spend"
    assert deployment.serving_pointer_parameter == "/mlops/fraud-detection/dev/serving-model-package-arn"
    assert deployment.tags == {
        "mlops:model": "fraud-detection",
        "mlops:owner": "risk-ml-oncall@example.com",
        "mlops:environment": "dev",
    }


def test_context_overrides_environment_variables_which_override_defaults() -> None:
    context = {"dev.account": "999999999999"}
    environ = {
        "MLOPS_DEV_ACCOUNT": "888888888888",
        "MLOPS_DEV_REGION": "eu-west-1",
        "MLOPS_PROD_REGION": "eu-central-1",
    }
    resolved = {e.name: e for e in resolve_environments(ENVIRONMENTS, context=context.get, environ=environ)}
    assert (resolved["dev"].account, resolved["dev"].region) == ("999999999999", "eu-west-1")
    assert resolved["prod"].region == "eu-central-1"
    assert resolved["staging"] == next(e for e in ENVIRONMENTS if e.name == "staging")


def test_a_bad_override_names_the_environment_and_field() -> None:
    with pytest.raises(ConfigError, match=r"^environments\[prod\]\.region"):
        resolve_environments(ENVIRONMENTS, context={"prod.region": "mars"}.get, environ={})


@pytest.mark.parametrize(
    ("instance_type", "nvme"),
    [
        ("ml.m5.large", False),
        ("ml.m5d.xlarge", True),
        ("ml.c5.xlarge", False),
        ("ml.g5.2xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.r5d.large", True),
        ("ml.c6i.large", False),
        ("ml.p4d.24xlarge", True),
    ],
)
def test_instance_types_with_local_nvme_are_recognised(instance_type: str, nvme: bool) -> None:
    assert has_local_nvme(instance_type) is nvme

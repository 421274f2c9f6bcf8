"""A bad spec or environment fails at synth with a message that names the field."""

from __future__ import annotations

import dataclasses
import re

import pytest

from config import (
    DEV,
    ENVIRONMENTS,
    FRAUD_DETECTION,
    PLATFORM_OWNER,
    PROD,
    AbSettings,
    AlarmSettings,
    BusinessMetric,
    BusinessMetricKind,
    ConfigError,
    DeploymentSettings,
    Direction,
    EndpointSettings,
    Feature,
    FeatureGroupSpec,
    FeatureType,
    ModelDeployment,
    MonitoringBackend,
    MonitoringSettings,
    Owner,
    ShadowSettings,
    check_models,
)
from tests.support.specs import CHURN


def raises_on(field: str) -> pytest.RaisesExc[ConfigError]:
    return pytest.raises(ConfigError, match=rf"^{re.escape(field)}")


def test_example_specs_and_environments_are_valid() -> None:
    for spec in (FRAUD_DETECTION, CHURN):
        for env in (DEV, PROD):
            ModelDeployment(spec=spec, env=env)


def test_model_name_longer_than_sagemaker_limit_is_rejected() -> None:
    with raises_on("name"):
        dataclasses.replace(FRAUD_DETECTION, name="f" * 64)


def test_derived_name_over_63_characters_names_the_derived_field() -> None:
    spec = dataclasses.replace(FRAUD_DETECTION, name="a" * 55)  # valid alone; "<name>-dev-training" is 68
    with pytest.raises(ConfigError, match=r"models\[a+\] in dev: pipeline_name: .* 63"):
        ModelDeployment(spec=spec, env=DEV)


def test_name_with_invalid_characters_is_rejected() -> None:
    with raises_on("name"):
        dataclasses.replace(FRAUD_DETECTION, name="fraud_detection")


def test_duplicate_feature_names_are_rejected() -> None:
    features = (*FRAUD_DETECTION.features, FRAUD_DETECTION.features[0])
    with pytest.raises(ConfigError, match=r"^features: duplicate feature name 'amount'"):
        dataclasses.replace(FRAUD_DETECTION, features=features)


def test_unknown_feature_type_names_the_feature() -> None:
    with pytest.raises(ConfigError, match=r"^features\[amount\]\.type: unknown value 'Float'"):
        Feature(name="amount", type="Float", feature_group="transaction")  # type: ignore[arg-type]


def test_feature_in_unknown_group_is_rejected() -> None:
    features = (Feature(name="x", type="Integral", feature_group="nope"), *FRAUD_DETECTION.features)  # type: ignore[arg-type]
    with raises_on("features[x].feature_group"):
        dataclasses.replace(FRAUD_DETECTION, features=features)


def test_duplicate_feature_group_is_rejected() -> None:
    groups = (*FRAUD_DETECTION.feature_groups, FeatureGroupSpec(name="transaction", description="again"))
    with raises_on("feature_groups"):
        dataclasses.replace(FRAUD_DETECTION, feature_groups=groups)


@pytest.mark.parametrize("value", [-1.0, 100.5, 250])
def test_sampling_percentage_outside_0_100_is_rejected(value: float) -> None:
    with raises_on("endpoint.data_capture_sampling_percent"):
        EndpointSettings(data_capture_sampling_percent=value)


def test_shadow_sampling_percentage_outside_0_100_is_rejected() -> None:
    with raises_on("deployment.shadow.sampling_percent"):
        ShadowSettings(sampling_percent=101)


@pytest.mark.parametrize("value", [51, 75, 0])
def test_canary_size_over_50_percent_is_rejected(value: int) -> None:
    with raises_on("deployment.canary_size_percent"):
        DeploymentSettings(canary_size_percent=value)


def test_linear_step_outside_10_50_is_rejected() -> None:
    with raises_on("deployment.linear_step_percent"):
        DeploymentSettings(linear_step_percent=5)


@pytest.mark.parametrize("every_hours", [0, 25, 48, 1.5])
def test_schedules_model_monitor_cannot_run_are_rejected(every_hours: float) -> None:
    with pytest.raises(ConfigError, match=r"^monitoring\.every_hours: .*hourly to daily"):
        MonitoringSettings(every_hours=every_hours)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("every_hours", "expression"),
    [(1, "cron(0 * ? * * *)"), (6, "cron(0 */6 ? * * *)"), (24, "cron(0 0 ? * * *)")],
)
def test_schedule_expressions_use_model_monitor_forms(every_hours: int, expression: str) -> None:
    assert MonitoringSettings(every_hours=every_hours).schedule_expression == expression


def test_hourly_monitoring_runtime_over_1800_seconds_is_rejected() -> None:
    with raises_on("monitoring.max_runtime_seconds"):
        MonitoringSettings(every_hours=1, max_runtime_seconds=3600)


@pytest.mark.parametrize("field", ["absolute_threshold", "min_improvement", "decision_threshold"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_bounded_metric_thresholds_outside_0_1_are_rejected(field: str, value: float) -> None:
    with raises_on(field):
        dataclasses.replace(FRAUD_DETECTION, **{field: value})


def test_per_feature_drift_threshold_outside_0_1_is_rejected() -> None:
    with raises_on("features[amount].drift_threshold"):
        Feature(name="amount", type="Fractional", feature_group="transaction", drift_threshold=2)  # type: ignore[arg-type]


def test_business_metric_must_reference_a_feature() -> None:
    metric = dataclasses.replace(FRAUD_DETECTION.business_metrics[0], value_feature="amount_usd")
    with raises_on("business_metrics[fraud_value_caught].value_feature"):
        dataclasses.replace(FRAUD_DETECTION, business_metrics=(metric,))


def test_ab_steps_must_increase_to_100() -> None:
    with raises_on("deployment.ab.weight_steps_percent"):
        AbSettings(weight_steps_percent=(10, 50, 25, 100))


def test_guardrail_timeout_must_exceed_waits() -> None:
    with raises_on("deployment.max_execution_timeout_seconds"):
        DeploymentSettings(wait_interval_seconds=600, termination_wait_seconds=600, max_execution_timeout_seconds=900)


def test_serverless_endpoints_are_rejected_with_the_reason() -> None:
    # Serverless endpoints have no data capture: no monitoring, no retraining loop (ADR 0012).
    with pytest.raises(ConfigError, match=r"^endpoint\.serverless: .*no data capture.*monitor.*retraining loop"):
        EndpointSettings(serverless=True)


def test_rollback_alarms_must_be_able_to_fire_inside_the_guardrail_wait() -> None:
    # 5 minutes x 2 periods (the old fixed alarms) cannot trip inside dev's 300 s wait interval.
    slow = dataclasses.replace(DEV.endpoint, alarms=AlarmSettings(period_seconds=300, evaluation_periods=2))
    with pytest.raises(
        ConfigError,
        match=r"^environments\[dev\]\.endpoint\.alarms\.evaluation_periods: .* 300 x 2 = 600 s .* "
        r"deployment\.wait_interval_seconds = 300 s",
    ):
        dataclasses.replace(DEV, endpoint=slow)


def test_every_example_environment_can_trip_its_rollback_alarms_inside_its_wait() -> None:
    for env in ENVIRONMENTS:
        assert env.endpoint.alarms.rollback_alarm_seconds <= env.deployment.wait_interval_seconds, env.name


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"period_seconds": 90}, "endpoint.alarms.period_seconds"),
        ({"evaluation_periods": 0}, "endpoint.alarms.evaluation_periods"),
        ({"evaluation_periods": 2, "datapoints_to_alarm": 3}, "endpoint.alarms.datapoints_to_alarm"),
        ({"no_traffic_missing_data": "sometimes"}, "endpoint.alarms.no_traffic_missing_data"),
    ],
)
def test_bad_alarm_settings_name_the_field(settings: dict[str, object], field: str) -> None:
    with raises_on(field):
        AlarmSettings(**settings)  # type: ignore[arg-type]


def test_processing_is_every_example_environments_monitoring_backend() -> None:
    # Model Monitor is closed to new customers: it stays an opt-in (ADR 0008).
    assert {env.name: env.monitoring.backend for env in ENVIRONMENTS} == {
        "dev": MonitoringBackend.PROCESSING,
        "staging": MonitoringBackend.PROCESSING,
        "prod": MonitoringBackend.PROCESSING,
    }
    assert MonitoringSettings().backend is MonitoringBackend.PROCESSING


def test_bad_account_is_rejected() -> None:
    with raises_on("environments[dev].account"):
        dataclasses.replace(DEV, account="12345")


def test_owner_email_is_checked() -> None:
    with raises_on("owner.email"):
        dataclasses.replace(FRAUD_DETECTION.owner, email="not-an-address")


# Spec errors that would otherwise escape as a jsii stack trace or a CloudFormation validation report at synth
# (found by putting bad specs through the app), or as a failed deployment.


def test_a_duplicate_model_name_names_the_model() -> None:
    with pytest.raises(ConfigError, match=r"^models\[churn\]\.name: duplicate model name 'churn'"):
        check_models([FRAUD_DETECTION, CHURN, dataclasses.replace(CHURN, description="Again.")])


def test_models_must_be_specs() -> None:
    with raises_on("models[1]"):
        check_models([FRAUD_DETECTION, "churn"])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["Churn", "CHURN-model"])
def test_an_upper_case_model_name_is_rejected_because_it_names_glue_tables(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^name: .* must be lower case"):
        dataclasses.replace(CHURN, name=name)


def test_an_upper_case_feature_group_name_is_rejected() -> None:
    with raises_on("feature_groups.name"):
        FeatureGroupSpec(name="Usage", description="Weekly usage")


def test_a_feature_group_description_over_128_characters_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^feature_groups\[usage\]\.description: is 129 characters"):
        FeatureGroupSpec(name="usage", description="x" * 129)


@pytest.mark.parametrize("email", ["o'brien@example.com", "team#ml@example.com"])
def test_an_owner_email_that_cannot_be_a_tag_value_is_rejected(email: str) -> None:
    with pytest.raises(ConfigError, match=r"^owner\.email: .* tag value"):
        Owner(team="growth-ml", email=email)


@pytest.mark.parametrize("name", ["write_time", "is_deleted", "api_invocation_time"])
def test_feature_store_reserved_names_are_rejected(name: str) -> None:
    with raises_on(f"features[{name}]"):
        Feature(name=name, type=FeatureType.INTEGRAL, feature_group="usage")


def test_feature_names_differing_only_in_case_are_one_column() -> None:
    features = (*CHURN.features, Feature(name="Plan", type=FeatureType.INTEGRAL, feature_group="usage"))
    with pytest.raises(ConfigError, match=r"^features: duplicate feature name 'Plan' \(names ignore case\)"):
        dataclasses.replace(CHURN, features=features)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"label": "subscriber_id"}, "label"),
        ({"event_time": "subscriber_id"}, "event_time"),
        ({"label_id": "churned"}, "label_id"),
        ({"event_time": "write_time"}, "event_time"),
    ],
)
def test_key_columns_must_be_distinct_and_not_reserved(changes: dict[str, str], field: str) -> None:
    with raises_on(field):
        dataclasses.replace(CHURN, **changes)  # type: ignore[arg-type]


def test_feature_lists_are_stored_as_tuples() -> None:
    spec = dataclasses.replace(CHURN, features=list(CHURN.features))  # type: ignore[arg-type]
    assert spec.features == CHURN.features
    assert hash(spec) == hash(CHURN)


def test_a_feature_set_is_rejected_because_order_matters() -> None:
    with raises_on("features"):
        dataclasses.replace(CHURN, features=set(CHURN.features))  # type: ignore[arg-type]


def test_a_business_metric_value_must_be_a_numeric_feature() -> None:
    metric = BusinessMetric(
        name="plan_value",
        kind=BusinessMetricKind.VALUE_MISSED,
        description="d",
        unit="USD",
        direction=Direction.LOWER_IS_BETTER,
        value_feature="plan",
    )
    with pytest.raises(ConfigError, match=r"^business_metrics\[plan_value\]\.value_feature: 'plan' is categorical"):
        dataclasses.replace(CHURN, business_metrics=(metric,))


def test_a_categorical_feature_must_list_its_categories() -> None:
    with pytest.raises(ConfigError, match=r"^features\[plan\]\.categories: a String feature lists its categories"):
        Feature(name="plan", type=FeatureType.STRING, feature_group="usage")


def test_a_numeric_feature_cannot_have_categories() -> None:
    with pytest.raises(ConfigError, match=r"^features\[seats\]\.categories: only a String feature has categories"):
        Feature(name="seats", type=FeatureType.INTEGRAL, feature_group="usage", categories=("one",))


@pytest.mark.parametrize(
    ("categories", "problem"),
    [
        (("basic", "basic"), "'basic' is listed twice"),
        (("basic", "Premium"), "'Premium' is not a category name"),
        (("basic", " premium"), "' premium' is not a category name"),
        (("basic", ""), "'' is not a category name"),
        (("basic", 3), "3 is not a category name"),
        ("basic", "expected a tuple of category names, got str"),
    ],
)
def test_bad_categories_name_the_feature(categories: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=rf"^features\[plan\]\.categories: {re.escape(problem)}"):
        Feature(name="plan", type=FeatureType.STRING, feature_group="usage", categories=categories)  # type: ignore[arg-type]


def test_categories_given_as_a_list_are_stored_as_a_tuple() -> None:
    feature = Feature(name="plan", type=FeatureType.STRING, feature_group="usage", categories=["a", "b"])  # type: ignore[arg-type]
    assert feature.categories == ("a", "b")
    assert CHURN.category_vocabularies == {"plan": ("basic", "standard", "premium")}


def test_categories_too_large_for_the_score_functions_environment_are_rejected() -> None:
    many = tuple(f"plan-{i:04d}" for i in range(300))
    plan = Feature(name="plan", type=FeatureType.STRING, feature_group="usage", categories=many)
    features = tuple(plan if f.name == "plan" else f for f in CHURN.features)
    with pytest.raises(
        ConfigError, match=r"^features\.categories: the categories take \d+ bytes as JSON; at most 2048 "
    ):
        dataclasses.replace(CHURN, features=features)


def test_the_platform_owner_is_configuration() -> None:
    assert PLATFORM_OWNER.email == "ml-platform@example.com"

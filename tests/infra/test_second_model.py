"""Adding a model is adding a spec: a second, different spec synthesizes with no other code change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import DEV, FRAUD_DETECTION, MODELS, PLATFORM_OWNER, ConfigError, Owner
from tests.support.specs import CHURN
from tests.support.synth import Synthesized, synthesize
from tests.support.templates import one_resource, tags_of

DATA_PLATFORM = Owner(team="data-platform", email="data-platform@example.com")


# Each test here synthesizes the example plus churn itself; an app that already has added models is proven by the
# session's synth (make test-added-models).
pytestmark = pytest.mark.variant_synth


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        Path(tmp_path_factory.mktemp("two-models")),
        environments=[DEV],
        models=[FRAUD_DETECTION, CHURN],
        platform_owner=DATA_PLATFORM,
    )


def test_second_model_gets_its_own_feature_store_registry_and_topic(two_models: Synthesized) -> None:
    template = two_models.json("dev", "platform")
    _, group = one_resource(template, "AWS::SageMaker::FeatureGroup", FeatureGroupName="churn-dev-usage")
    assert group["Properties"]["RecordIdentifierFeatureName"] == "subscriber_id"
    assert group["Properties"]["EventTimeFeatureName"] == "snapshot_time"
    assert group["Properties"]["OnlineStoreConfig"]["TtlDuration"] == {"Unit": "Days", "Value": 14}
    assert tags_of(group)["mlops:owner"] == "growth-ml@example.com"
    _, registry = one_resource(template, "AWS::SageMaker::ModelPackageGroup", ModelPackageGroupName="churn-dev")
    assert tags_of(registry)["mlops:model"] == "churn"
    one_resource(template, "AWS::SNS::Subscription", Endpoint="growth-ml@example.com")


@pytest.fixture(scope="module")
def example_alone(synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The example model's app alone: the session's synth when it is that app, else one synth of dev."""
    if tuple(MODELS) == (FRAUD_DETECTION,):
        return synth
    return synthesize(Path(tmp_path_factory.mktemp("example-alone")), environments=[DEV], models=[FRAUD_DETECTION])


def test_adding_a_model_does_not_touch_the_first_models_resources(
    two_models: Synthesized, example_alone: Synthesized
) -> None:
    alone = example_alone.json("dev", "platform")["Resources"]
    together = two_models.json("dev", "platform")["Resources"]
    for logical_id, resource in alone.items():
        if resource["Type"] == "AWS::IAM::Policy":
            continue
        expected = json.loads(json.dumps(resource).replace(PLATFORM_OWNER.email, DATA_PLATFORM.email))
        assert together[logical_id] == expected, logical_id


def test_platform_resources_carry_the_configured_platform_owner(two_models: Synthesized) -> None:
    _, key = one_resource(two_models.json("dev", "platform"), "AWS::KMS::Key")
    assert tags_of(key)["mlops:owner"] == "data-platform@example.com"
    assert tags_of(key)["mlops:model"] == "platform"


def test_a_duplicate_model_name_fails_in_config_before_any_construct(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^models\[churn\]\.name: duplicate model name 'churn'"):
        synthesize(tmp_path, environments=[DEV], models=[FRAUD_DETECTION, CHURN, CHURN])


def test_a_model_without_raw_event_ingestion_gets_no_ingestion_functions(two_models: Synthesized) -> None:
    churn = two_models.json("dev", "churn-training")["Resources"].values()
    assert not any(r["Type"] == "AWS::Lambda::Function" and "ingestion" in json.dumps(r) for r in churn)
    (pipeline,) = [r for r in churn if r["Type"] == "AWS::SageMaker::Pipeline"]
    assert pipeline["Properties"]["PipelineName"] == "churn-dev-training"

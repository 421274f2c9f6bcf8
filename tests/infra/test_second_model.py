"""Adding a model is adding a spec: a second, different spec synthesizes with no other code change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import DEV, FRAUD_DETECTION
from tests.support.specs import CHURN
from tests.support.synth import Synthesized, synthesize
from tests.support.templates import one_resource, tags_of


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(Path(tmp_path_factory.mktemp("two-models")), environments=[DEV], models=[FRAUD_DETECTION, CHURN])


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


def test_adding_a_model_does_not_touch_the_first_models_resources(two_models: Synthesized, synth: Synthesized) -> None:
    alone = synth.json("dev", "platform")["Resources"]
    together = two_models.json("dev", "platform")["Resources"]
    for logical_id, resource in alone.items():
        if resource["Type"] == "AWS::IAM::Policy":
            continue
        assert together[logical_id] == resource, logical_id


def test_a_model_without_raw_event_ingestion_gets_no_ingestion_functions(two_models: Synthesized) -> None:
    churn = two_models.json("dev", "churn-training")["Resources"].values()
    assert not any(r["Type"] == "AWS::Lambda::Function" and "ingestion" in json.dumps(r) for r in churn)
    (pipeline,) = [r for r in churn if r["Type"] == "AWS::SageMaker::Pipeline"]
    assert pipeline["Properties"]["PipelineName"] == "churn-dev-training"

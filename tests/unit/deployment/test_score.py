"""score: online features of all groups, in the spec's order, to the endpoint with an inference id."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from config.deployment import ModelDeployment
from config.environments import DEV
from config.models.fraud_detection import FRAUD_DETECTION
from lambdas.deployment.errors import EntityNotFound, InvalidModelResponse, MalformedRequest
from lambdas.deployment.runtime import ScoringAws
from lambdas.deployment.score import score
from lambdas.deployment.settings import ScoreEnv
from lambdas.shared.features import FeatureInputError
from tests.unit.deployment.conftest import client

FRAUD_DEV = ModelDeployment(spec=FRAUD_DETECTION, env=DEV)
GROUPS = {g.name: FRAUD_DEV.feature_group_name(g.name) for g in FRAUD_DETECTION.feature_groups}
ENV = ScoreEnv.from_env(
    {
        "ENDPOINT_NAME": FRAUD_DEV.endpoint_name,
        "FEATURE_GROUPS": json.dumps(GROUPS),
        "FEATURE_NAMES": json.dumps(list(FRAUD_DETECTION.feature_names)),
        "CATEGORIES": json.dumps(FRAUD_DETECTION.category_vocabularies),
        "ENTITY_ID_NAME": FRAUD_DETECTION.entity_id,
    }
)
# GetRecord answers in whatever order the store keeps features; the model input must not depend on it.
TRANSACTION_RECORD = [
    {"FeatureName": "distance_from_home_km", "ValueAsString": "812.25"},
    {"FeatureName": "event_time", "ValueAsString": "2026-03-01T23:10:00.000Z"},
    {"FeatureName": "card_present", "ValueAsString": "0"},
    {"FeatureName": "merchant_category", "ValueAsString": "travel"},
    {"FeatureName": "customer_id", "ValueAsString": "c-42"},
    {"FeatureName": "hour_of_day", "ValueAsString": "23"},
    {"FeatureName": "amount", "ValueAsString": "125.5"},
]
SPEND_RECORD = [
    {"FeatureName": "amount_to_avg_30d", "ValueAsString": "1.25"},
    {"FeatureName": "count_30d", "ValueAsString": "30"},
    {"FeatureName": "spend_30d", "ValueAsString": "4000.0"},
    {"FeatureName": "count_7d", "ValueAsString": "9"},
    {"FeatureName": "spend_7d", "ValueAsString": "1250.75"},
    {"FeatureName": "count_1d", "ValueAsString": "3"},
    {"FeatureName": "spend_1d", "ValueAsString": "300.0"},
    {"FeatureName": "customer_id", "ValueAsString": "c-42"},
]
# amount, merchant_category (travel = code 5), hour_of_day, card_present, distance_from_home_km,
# spend_1d, spend_7d, spend_30d, count_1d, count_7d, count_30d, amount_to_avg_30d
EXPECTED_ROW = "125.5,5,23,0,812.25,300,1250.75,4000,3,9,30,1.25"


class Scoring:
    def __init__(self) -> None:
        self.featurestore = client("sagemaker-featurestore-runtime")
        self.runtime = client("sagemaker-runtime")
        self.features = Stubber(self.featurestore)
        self.endpoint = Stubber(self.runtime)

    @property
    def aws(self) -> ScoringAws:
        return ScoringAws(featurestore=self.featurestore, runtime=self.runtime)

    def records(self, entity: str, transaction: list[Any] | None, spend: list[Any] | None = SPEND_RECORD) -> None:
        for group, record in (("transaction", transaction), ("customer-spend", spend)):
            response = {"Record": record} if record is not None else {}
            self.features.add_response(
                "get_record",
                response,
                {"FeatureGroupName": GROUPS[group], "RecordIdentifierValueAsString": entity},
            )
            if record is None:
                return

    def answers(self, body: bytes, *, inference_id: str, variant: str = "primary") -> None:
        self.endpoint.add_response(
            "invoke_endpoint",
            {
                "Body": StreamingBody(io.BytesIO(body), len(body)),
                "ContentType": "text/csv",
                "InvokedProductionVariant": variant,
            },
            {
                "EndpointName": FRAUD_DEV.endpoint_name,
                "ContentType": "text/csv",
                "Accept": "text/csv",
                "Body": EXPECTED_ROW.encode(),
                "InferenceId": inference_id,
            },
        )


@pytest.fixture
def scoring() -> Iterator[Scoring]:
    s = Scoring()
    with s.features, s.endpoint:
        yield s
        s.features.assert_no_pending_responses()
        s.endpoint.assert_no_pending_responses()


def test_features_reach_the_endpoint_in_the_spec_order_with_the_given_inference_id(scoring: Scoring) -> None:
    assert FRAUD_DETECTION.feature_names[:2] == ("amount", "merchant_category")  # the order EXPECTED_ROW spells
    scoring.records("c-42", TRANSACTION_RECORD)
    scoring.answers(b"0.8731\n", inference_id="txn-9001")

    result = score({"customer_id": "c-42", "inference_id": "txn-9001"}, env=ENV, aws=scoring.aws)

    assert result == {
        "score": 0.8731,
        "inference_id": "txn-9001",
        "model_endpoint": "fraud-detection-dev",
        "variant": "primary",
    }


def test_an_inference_id_is_generated_when_none_is_given(scoring: Scoring) -> None:
    scoring.records("c-42", TRANSACTION_RECORD)
    scoring.answers(b"0.12", inference_id="00000000-0000-4000-8000-000000000001", variant="challenger")

    result = score(
        {"entity_id": "c-42"}, env=ENV, aws=scoring.aws, new_id=lambda: "00000000-0000-4000-8000-000000000001"
    )

    assert (result["inference_id"], result["variant"]) == ("00000000-0000-4000-8000-000000000001", "challenger")


def test_an_unknown_entity_is_a_typed_error_and_the_endpoint_is_not_called(scoring: Scoring) -> None:
    scoring.records("c-404", None)

    with pytest.raises(
        EntityNotFound, match="no online record for 'c-404' in feature group 'fraud-detection-dev-transaction'"
    ):
        score({"customer_id": "c-404"}, env=ENV, aws=scoring.aws)


def test_an_incomplete_record_names_the_missing_feature(scoring: Scoring) -> None:
    scoring.records("c-42", [r for r in TRANSACTION_RECORD if r["FeatureName"] != "hour_of_day"])

    with pytest.raises(FeatureInputError, match="feature 'hour_of_day': missing"):
        score({"customer_id": "c-42"}, env=ENV, aws=scoring.aws)


def test_a_body_that_is_not_a_score_is_a_typed_error(scoring: Scoring) -> None:
    scoring.records("c-42", TRANSACTION_RECORD)
    scoring.answers(b"body", inference_id="i-1")

    with pytest.raises(InvalidModelResponse, match="answered 'body'"):
        score({"customer_id": "c-42", "inference_id": "i-1"}, env=ENV, aws=scoring.aws)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "entity_id: missing"),
        ({"customer_id": "  "}, "entity_id: missing or empty"),
        ({"customer_id": "c-1", "inference_id": "x" * 65}, "inference_id: 1-64"),
        (["c-1"], "event: expected a JSON object"),
    ],
)
def test_a_malformed_request_is_refused_before_any_call(scoring: Scoring, event: Any, message: str) -> None:
    with pytest.raises(MalformedRequest, match=message):
        score(event, env=ENV, aws=scoring.aws)

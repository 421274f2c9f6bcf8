from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.ingestion.logic import IngestionTarget, Ingestor

TARGET = IngestionTarget(
    feature_groups={
        "transaction": "fraud-detection-dev-transaction",
        "customer-spend": "fraud-detection-dev-customer-spend",
    },
    history_table="history",
    dead_letter_bucket="dead-letters",
    dead_letter_prefix="ingestion-dead-letter/fraud-detection",
)


class Harness:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        self.featurestore = boto3.client("sagemaker-featurestore-runtime", region_name="us-east-1")
        self.stubber = Stubber(self.featurestore)
        self.sleeps: list[float] = []
        self.s3.create_bucket(Bucket=TARGET.dead_letter_bucket)
        self.dynamodb.create_table(
            TableName=TARGET.history_table,
            KeySchema=[
                {"AttributeName": "customer_id", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "customer_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )

    def ingestor(self, **kwargs: Any) -> Ingestor:
        return Ingestor(
            featurestore=self.featurestore,
            dynamodb=self.dynamodb,
            s3=self.s3,
            target=TARGET,
            sleep=self.sleeps.append,
            **kwargs,
        )

    def history_status(self) -> dict[str, str]:
        items = self.dynamodb.scan(TableName=TARGET.history_table)["Items"]
        return {i["transaction_id"]["S"]: i["status"]["S"] for i in items}


@pytest.fixture
def harness() -> Iterator[Harness]:
    with mock_aws():
        h = Harness()
        with h.stubber:
            yield h

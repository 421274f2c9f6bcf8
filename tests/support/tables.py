"""The platform's DynamoDB tables in tests: one layout (``pk`` partition, ``sk`` sort key, on demand), as the
platform stack creates the deployment-history and retraining-state tables."""

from __future__ import annotations

from typing import Any


def create_partition_table(dynamodb: Any, name: str) -> None:
    """A table with the deployed tables' key schema, on ``dynamodb`` (a low-level client, moto in tests)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

"""One model's items in one environment, in a DynamoDB table keyed by the strings ``pk`` and ``sk``.

The deployment history (``lambdas/deployment/history.py``) and the retraining state
(``lambdas/retraining/state.py``) keep every item of a model in an environment under
``pk = "<model>#<environment>"`` (so the two may share a table) and store records (frozen dataclasses) one
attribute per field: text as ``S``, integers as ``N``, empty strings left out and read back as ``""``. This
module is that storage; the two stores add their own items and conditions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, TypeVar

# A Put that must create the item: a retried step finds the first write instead of overwriting it.
NEW_ITEM: dict[str, str] = {"ConditionExpression": "attribute_not_exists(pk)"}


class Record(Protocol):
    """A stored dataclass: its fields are the item's attributes, ``sort_key`` its ``sk``."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def sort_key(self) -> str: ...


_R = TypeVar("_R")


def partition_key(model_name: str, environment: str) -> str:
    return f"{model_name}#{environment}"


def encode(value: object) -> dict[str, str] | None:
    """The DynamoDB attribute value of a field; None for an empty string (left out of the item)."""
    if isinstance(value, bool):
        raise TypeError("booleans are not stored: use a string or an integer")
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value} if value else None
    raise TypeError(f"cannot store {type(value).__name__} in the table")


def text(item: Mapping[str, Any], name: str) -> str:
    """A string attribute, ``""`` when absent."""
    value = item.get(name)
    return str(value["S"]) if value and "S" in value else ""


def decode(cls: type[_R], item: Mapping[str, Any]) -> _R:
    """The dataclass ``cls`` from an item: integer fields from ``N``, the others from ``S``; absent -> default."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in item:
            continue
        values[f.name] = int(item[f.name]["N"]) if f.type in (int, "int") else text(item, f.name)
    return cls(**values)


class PartitionStore:
    """The items of one model in one environment. ``dynamodb`` is a low-level boto3 client (moto in tests)."""

    def __init__(self, *, dynamodb: Any, table: str, model_name: str, environment: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.model_name = model_name
        self.environment = environment
        self.pk = partition_key(model_name, environment)

    def key(self, sk: str) -> dict[str, Any]:
        return {"pk": {"S": self.pk}, "sk": {"S": sk}}

    def read(self, sk: str) -> dict[str, Any] | None:
        """The item with this sort key (strongly consistent), or None."""
        response = self.dynamodb.get_item(TableName=self.table, Key=self.key(sk), ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def record_item(self, sk: str, record: object) -> dict[str, Any]:
        """The item storing a dataclass's fields under this sort key (empty strings left out)."""
        item = self.key(sk)
        for name, value in dataclasses.asdict(record).items():  # type: ignore[call-overload]
            encoded = encode(value)
            if encoded is not None:
                item[name] = encoded
        return item

    def update_request(self, record: Record, changes: Mapping[str, str | int]) -> dict[str, Any]:
        """An UpdateItem request setting fields of a stored record (``""`` removes the attribute); the item must
        exist. Names that are not fields of the record are refused, so a typo cannot write a stray attribute."""
        known = {f.name for f in dataclasses.fields(record)}
        unknown = set(changes) - known
        if unknown or not changes:
            raise ValueError(f"not fields of {type(record).__name__}: {sorted(unknown)}")
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes = [], []
        for index, (name, value) in enumerate(sorted(changes.items())):
            names[f"#f{index}"] = name
            encoded = encode(value)
            if encoded is None:
                removes.append(f"#f{index}")
            else:
                sets.append(f"#f{index} = :v{index}")
                values[f":v{index}"] = encoded
        clauses = [f"{keyword} {', '.join(parts)}" for keyword, parts in (("SET", sets), ("REMOVE", removes)) if parts]
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": self.key(record.sort_key),
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": names,
            "ConditionExpression": "attribute_exists(pk)",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        return request

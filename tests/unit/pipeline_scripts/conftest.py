"""Fixtures for the step-script tests: the fraud spec as spec.json, small offline stores and datasets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from config import FRAUD_DETECTION
from lambdas.shared.features import CUSTOMER_SPEND_GROUP, TRANSACTION_GROUP
from pipeline_defs import sample_data
from pipeline_defs.scripts.dataset import build_dataset
from pipeline_defs.scripts.spec import StepSpec, step_spec_from_model_spec

SPEC = step_spec_from_model_spec(FRAUD_DETECTION)

_TRANSACTION_DEFAULTS = {
    "amount": 1.0,
    "merchant_category": "grocery",
    "hour_of_day": 12,
    "card_present": 1,
    "distance_from_home_km": 1.0,
}
_SPEND_DEFAULTS = {
    "spend_1d": 1.0,
    "spend_7d": 1.0,
    "spend_30d": 1.0,
    "count_1d": 1,
    "count_7d": 1,
    "count_30d": 1,
    "amount_to_avg_30d": 1.0,
}


def utc(text: str) -> datetime:
    """A naive UTC datetime (how the offline store's system timestamps are typed) from 'YYYY-mm-dd HH:MM:SS'."""
    return datetime.fromisoformat(text)


def aware(text: str) -> datetime:
    """A timezone-aware UTC datetime from 'YYYY-mm-dd HH:MM:SS'."""
    return utc(text).replace(tzinfo=UTC)


def store_row(
    group: str, customer: str, event_time: str, *, written: str | None = None, deleted: bool = False, **features: Any
) -> dict[str, Any]:
    """One offline-store row; ``written`` is the api_invocation/write time (default: the event time)."""
    defaults = _TRANSACTION_DEFAULTS if group == TRANSACTION_GROUP else _SPEND_DEFAULTS
    at = utc((written or event_time).replace("T", " ").removesuffix("Z"))
    return {
        "customer_id": customer,
        "event_time": event_time,
        **defaults,
        **features,
        "api_invocation_time": at,
        "write_time": at,
        "is_deleted": deleted,
    }


def label_row(customer: str, event_time: str, label: int = 0, transaction_id: str = "") -> dict[str, Any]:
    return {
        "transaction_id": transaction_id or f"{customer}@{event_time}",
        "customer_id": customer,
        "event_time": event_time,
        "is_fraud": label,
    }


@pytest.fixture
def write_store(tmp_path: Path) -> Callable[..., Path]:
    """Write feature-group rows and labels as the dataset step reads them; returns the root directory."""

    def write(
        transaction: list[dict[str, Any]],
        spend: list[dict[str, Any]],
        labels: list[dict[str, Any]],
        schemas: dict[str, pa.Schema] | None = None,
    ) -> Path:
        root = tmp_path / "store"
        for group, rows in ((TRANSACTION_GROUP, transaction), (CUSTOMER_SPEND_GROUP, spend)):
            schema = (schemas or {}).get(group, sample_data.offline_store_schema(group))
            (root / "feature_groups" / group).mkdir(parents=True, exist_ok=True)
            pq.write_table(
                pa.Table.from_pylist(rows, schema=schema), root / "feature_groups" / group / "part-00000.parquet"
            )
        (root / "labels").mkdir(parents=True, exist_ok=True)
        label_schema = (schemas or {}).get("labels")
        table = pa.Table.from_pylist(labels, schema=label_schema) if label_schema else sample_data.labels_table(labels)
        pq.write_table(table, root / "labels" / "labels.parquet")
        return root

    return write


@pytest.fixture
def step_spec() -> StepSpec:
    return SPEC


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(SPEC.to_json(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def generated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated offline store (sample data) written once per session."""
    root = tmp_path_factory.mktemp("generated")
    sample_data.write(sample_data.generate(sample_data.SampleConfig(customers=60, days=21, seed=11)), root)
    return root


@pytest.fixture(scope="session")
def generated_dataset(generated_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dataset.parquet built from the generated store."""
    out = tmp_path_factory.mktemp("dataset")
    build_dataset(
        SPEC,
        feature_groups_dir=generated_store / "feature_groups",
        labels_dir=generated_store / "labels",
        output_dir=out,
        id_columns=["transaction_id"],
    )
    return out / "dataset.parquet"

"""The local stand-in of the offline feature store and the labels table: what the dataset step reads.

``write_tables(spec, records, labels, out_dir)`` writes, for any spec::

    out_dir/feature_groups/<group>/part-00000.parquet    entity id, event time, the group's features, then
                                                         ``api_invocation_time``, ``write_time``, ``is_deleted``
    out_dir/labels/labels.parquet                        [label id,] entity id, event time, label

The generated sample data of any spec (``spec_sample_data``) and a user's own files (``user_data``) both go
through it. Choosing a model by name on a command line (``choose_model``) is shared by their CLIs too.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from config import ModelSpec
from config.model_spec import FeatureType

ARROW_TYPES: dict[FeatureType, pa.DataType] = {
    FeatureType.FRACTIONAL: pa.float64(),
    FeatureType.INTEGRAL: pa.int64(),
    FeatureType.STRING: pa.string(),
}


def offline_store_schema(spec: ModelSpec, group: str) -> pa.Schema:
    """A feature group's offline-store table: entity id, event time, its features, then the system columns."""
    fields = [pa.field(spec.entity_id, pa.string()), pa.field(spec.event_time, pa.string())]
    fields += [pa.field(f.name, ARROW_TYPES[f.type]) for f in spec.features_of(group)]
    fields += [
        pa.field("api_invocation_time", pa.timestamp("ms")),
        pa.field("write_time", pa.timestamp("ms")),
        pa.field("is_deleted", pa.bool_()),
    ]
    return pa.schema(fields)


def labels_schema(spec: ModelSpec) -> pa.Schema:
    """The labels table: the label id (if the spec has one), entity id, event time and the 0/1 label."""
    fields = [pa.field(spec.label_id, pa.string())] if spec.label_id is not None else []
    fields += [
        pa.field(spec.entity_id, pa.string()),
        pa.field(spec.event_time, pa.string()),
        pa.field(spec.label, pa.int64()),
    ]
    return pa.schema(fields)


def write_tables(
    spec: ModelSpec, records: Mapping[str, Sequence[dict[str, Any]]], labels: Sequence[dict[str, Any]], out_dir: Path
) -> None:
    """Every feature group's rows and the labels as the dataset step reads them, under ``out_dir``."""
    for group, rows in records.items():
        group_dir = out_dir / "feature_groups" / group
        group_dir.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(list(rows), schema=offline_store_schema(spec, group))
        pq.write_table(table, group_dir / "part-00000.parquet")
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(labels), schema=labels_schema(spec))
    pq.write_table(table, out_dir / "labels" / "labels.parquet")


def choose_model(parser: argparse.ArgumentParser, name: str, models: Sequence[ModelSpec] | None) -> ModelSpec:
    """The model named ``name`` among ``models`` (default: ``config.MODELS``, read now: a test run may add specs);
    an unknown name is a usage error that lists the known ones."""
    import config.models  # noqa: PLC0415 - read at call time

    known = {m.name: m for m in (models if models is not None else config.models.MODELS)}
    if name not in known:
        parser.error(f"--model: unknown model '{name}'; known: {', '.join(sorted(known))}")
    return known[name]

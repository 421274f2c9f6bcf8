"""Feature Store runtime (PutRecord, GetRecord, BatchGetRecord) and the offline store's files and Glue table.

Real: the feature group as created (CreateFeatureGroup through moto's API; DescribeFeatureGroup gives its
feature definitions, record identifier, event time feature, online/offline configuration), S3 and Glue through
the emulator's API.

Emulated:

- online store: per group and record identifier, the record with the latest event time (a PutRecord with an
  older event time does not replace it), kept with moto's feature group so a moto reset clears it;
- offline store: ``flush_offline`` writes the records put since the last flush as Parquet, partitioned by event
  time, in Feature Store's layout
  ``<S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<created epoch>/data/year=/month=/day=/hour=/``,
  with the system columns ``api_invocation_time``, ``write_time`` (timestamps) and ``is_deleted``, encrypted with
  the offline store's KMS key; the group's Glue table (``DataCatalogConfig``) is created over it the first time;
- validation: an unknown feature, a missing record identifier or event time, or a value that is not of its
  feature's type is a ``ValidationError`` naming the feature (PutRecord's answer).

What it could hide: the offline store's delay (minutes in AWS, at ``flush_offline`` here), Iceberg metadata
(plain Parquet files under ``data/``), DeleteRecord, TTL, throughput limits, and KMS/IAM enforcement.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tools.demo.emulators.runtime import Aws, moto_backend

_ARROW = {"Integral": pa.int64(), "Fractional": pa.float64(), "String": pa.string()}
_GLUE = {"Integral": "bigint", "Fractional": "double", "String": "string"}
SYSTEM_COLUMNS = (
    ("api_invocation_time", pa.timestamp("ms"), "timestamp"),
    ("write_time", pa.timestamp("ms"), "timestamp"),
    ("is_deleted", pa.bool_(), "boolean"),
)


class ValidationError(ValueError):
    """PutRecord's ValidationError: the record does not fit the feature group."""


@dataclass(frozen=True)
class _Group:
    name: str
    definitions: dict[str, str]  # feature -> Integral | Fractional | String, in definition order
    identifier: str
    event_time: str
    record: Any  # moto's feature group

    @property
    def online(self) -> dict[str, dict[str, str]]:
        if not hasattr(self.record, "emulated_online"):
            self.record.emulated_online = {}
        return self.record.emulated_online  # type: ignore[no-any-return]

    @property
    def pending(self) -> list[dict[str, Any]]:
        if not hasattr(self.record, "emulated_pending"):
            self.record.emulated_pending = []
        return self.record.emulated_pending  # type: ignore[no-any-return]


def _group(aws: Aws, name: str) -> _Group:
    groups = moto_backend("sagemaker", aws.account, aws.region).feature_groups.values()
    record = next((g for g in groups if name in (g.feature_group_name, g.arn)), None)
    if record is None:
        raise ValidationError(f"ResourceNotFound: feature group '{name}' does not exist")
    definitions = {str(d["FeatureName"]): str(d["FeatureType"]) for d in record.feature_definitions}
    return _Group(name, definitions, record.record_identifier_feature_name, record.event_time_feature_name, record)


def _parse_time(text: str, feature: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            raise ValidationError(
                f"ValidationError: event time feature '{feature}' value '{text}' is not a time"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check(group: _Group, record: Sequence[Mapping[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in record:
        name, value = str(item["FeatureName"]), str(item["ValueAsString"])
        kind = group.definitions.get(name)
        if kind is None:
            raise ValidationError(f"ValidationError: feature '{name}' is not defined in feature group '{group.name}'")
        try:
            if kind == "Integral":
                int(value)
            elif kind == "Fractional":
                float(value)
        except ValueError:
            raise ValidationError(f"ValidationError: feature '{name}' value '{value}' is not {kind}") from None
        values[name] = value
    for required in (group.identifier, group.event_time):
        if required not in values:
            raise ValidationError(f"ValidationError: record has no value for '{required}' (required)")
    _parse_time(values[group.event_time], group.event_time)
    return values


def put_record(aws: Aws, *, FeatureGroupName: str, Record: Sequence[Mapping[str, str]], **_: Any) -> dict[str, Any]:  # noqa: N803 - PutRecord's parameter names
    """PutRecord: into the online store (latest event time wins) and the offline store's pending records."""
    group = _group(aws, FeatureGroupName)
    values = _check(group, Record)
    key = values[group.identifier]
    stored = group.online.get(key)
    event_time = _parse_time(values[group.event_time], group.event_time)
    if stored is None or _parse_time(stored[group.event_time], group.event_time) <= event_time:
        group.online[key] = values
    group.pending.append({"values": values, "api_invocation_time": datetime.now(UTC)})
    return {}


def get_record(
    aws: Aws,
    *,
    FeatureGroupName: str,  # noqa: N803 - GetRecord's parameter names
    RecordIdentifierValueAsString: str,  # noqa: N803
    FeatureNames: Sequence[str] = (),  # noqa: N803
    **_: Any,
) -> dict[str, Any]:
    """GetRecord from the online store: ``{}`` (no ``Record``) when the identifier is unknown."""
    group = _group(aws, FeatureGroupName)
    values = group.online.get(RecordIdentifierValueAsString)
    if values is None:
        return {}
    names = list(FeatureNames) or list(values)
    return {"Record": [{"FeatureName": n, "ValueAsString": values[n]} for n in names if n in values]}


def batch_get_record(aws: Aws, *, Identifiers: Sequence[Mapping[str, Any]], **_: Any) -> dict[str, Any]:  # noqa: N803
    records, unprocessed, errors = [], [], []
    for identifier in Identifiers:
        group_name = str(identifier["FeatureGroupName"])
        for value in identifier["RecordIdentifiersValueAsString"]:
            try:
                found = get_record(
                    aws,
                    FeatureGroupName=group_name,
                    RecordIdentifierValueAsString=value,
                    FeatureNames=identifier.get("FeatureNames", ()),
                )
            except ValidationError as error:
                errors.append(
                    {
                        "FeatureGroupName": group_name,
                        "RecordIdentifierValueAsString": value,
                        "ErrorCode": "ResourceNotFound",
                        "ErrorMessage": str(error),
                    }
                )
                continue
            if "Record" in found:
                records.append(
                    {"FeatureGroupName": group_name, "RecordIdentifierValueAsString": value, "Record": found["Record"]}
                )
            else:
                unprocessed.append({"FeatureGroupName": group_name, "RecordIdentifierValueAsString": value})
    return {"Records": records, "Errors": errors, "UnprocessedIdentifiers": unprocessed}


def offline_location(aws: Aws, group_name: str) -> str:
    """The group's resolved offline-store URI (without ``data/``), as Feature Store lays it out."""
    group = _group(aws, group_name)
    config = group.record.offline_store_config or {}
    base = str(config["S3StorageConfig"]["S3Uri"]).rstrip("/")
    created = int(group.record.creation_time.timestamp()) if hasattr(group.record.creation_time, "timestamp") else 0
    return f"{base}/{aws.account}/sagemaker/{aws.region}/offline-store/{group_name}-{created}"


def flush_offline(aws: Aws, group_name: str) -> list[str]:
    """Write the pending records of ``group_name`` to its offline store; return the S3 URIs written."""
    group = _group(aws, group_name)
    config = group.record.offline_store_config or {}
    if not config:
        return []
    pending, group.record.emulated_pending = group.pending, []
    location = offline_location(aws, group_name)
    _ensure_table(aws, group, config, location)
    schema = pa.schema(
        [pa.field(n, _ARROW[k]) for n, k in group.definitions.items()]
        + [pa.field(name, kind) for name, kind, _ in SYSTEM_COLUMNS]
    )
    by_hour: dict[datetime, list[dict[str, Any]]] = {}
    written = datetime.now(UTC).replace(tzinfo=None)
    for item in pending:
        values = item["values"]
        row: dict[str, Any] = {n: _value(group.definitions[n], values.get(n)) for n in group.definitions}
        row |= {
            "api_invocation_time": item["api_invocation_time"].replace(tzinfo=None),
            "write_time": written,
            "is_deleted": False,
        }
        hour = _parse_time(values[group.event_time], group.event_time).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(hour, []).append(row)
    s3 = aws.client("s3")
    kms = (config.get("S3StorageConfig") or {}).get("KmsKeyId")
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms} if kms else {}
    uris = []
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    for index, (hour, rows) in enumerate(sorted(by_hour.items())):
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
        key = (
            f"{prefix}/data/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"
            f"{written:%Y%m%dT%H%M%S}_{index:05d}.parquet"
        )
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), **extra)
        uris.append(f"s3://{bucket}/{key}")
    return uris


def _value(kind: str, text: str | None) -> Any:
    if text is None:
        return None
    if kind == "Integral":
        return int(text)
    if kind == "Fractional":
        return float(text)
    return text


def _ensure_table(aws: Aws, group: _Group, config: Mapping[str, Any], location: str) -> None:
    catalog = config.get("DataCatalogConfig") or {}
    if config.get("DisableGlueTableCreation") or not catalog:
        return
    glue = aws.client("glue")
    database, table = str(catalog["Database"]), str(catalog["TableName"])
    try:
        glue.get_table(DatabaseName=database, Name=table)
        return
    except glue.exceptions.EntityNotFoundException:
        pass
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database})
    columns = [{"Name": n, "Type": _GLUE[k]} for n, k in group.definitions.items()]
    columns += [{"Name": name, "Type": glue_type} for name, _, glue_type in SYSTEM_COLUMNS]
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"table_type": "ICEBERG" if config.get("TableFormat") == "Iceberg" else "EXTERNAL"},
            "StorageDescriptor": {"Columns": columns, "Location": location},
        },
    )

"""The job config: what the CDK writes from the model spec and the job reads at start.

Schema (``schema_version`` 1), one JSON object::

    {
      "schema_version": 1,
      "model_name": "fraud-detection",
      "endpoint_name": "fraud-detection-prod",
      "environment": "prod",
      "features": [                                  # the model's input columns, IN ORDER (CSV column order)
        {"name": "amount", "type": "Fractional", "drift_threshold": 0.1},
        {"name": "merchant_category", "type": "String", "drift_threshold": 0.1,
         "categories": ["grocery", "restaurant", ...]}                  # optional: label by vocabulary code
      ],
      "prediction": {"name": "prediction", "type": "Fractional", "drift_threshold": 0.1},   # or null
      "metrics": {
        "namespace": "MLOps/DataQuality",
        "dimensions": {"Model": "fraud-detection", "Environment": "prod"},   # the Feature dimension is added
        "publish": true                              # false: only write EMF lines, never call CloudWatch
      },
      "alerting": {                                  # optional; what the HTML report tells the owner to expect
        "alarm_prefix": "fraud-detection-prod",      # alarms <prefix>-drift-<feature> and <prefix>-drift
        "retrain_on_alarms": true,                   # the retraining loop starts on the drift alarm
        "manual_approval": true                      # a person approves the retrained candidate
      },
      "significance_level": 0.001,                   # optional; see compare.py
      "max_new_categories": 100,                     # optional; bound on tracked unseen categorical values
      "chunk_records": 20000                         # optional; records decoded per vectorised batch
    }

Types are the Feature Store / Model Monitor names ``Integral``, ``Fractional``, ``String``
(``config.model_spec.FeatureType``; Model Monitor ``inferred_type`` in statistics.json, see
docs/aws-facts.md#baseline-and-report-files). ``drift_threshold`` is the spec's
``ModelSpec.drift_threshold_of(name)``: the largest tolerated distribution distance (see compare.py). A
``String`` feature's ``categories`` decode the captured vocabulary codes into labels (``monitor_stats.columns``).

``job_config_from_spec`` builds this object from a ``ModelSpec`` with ``monitor_stats.columns.monitored_columns``
(the baseline step builds its columns with the same function) without importing ``config`` (the processing image
carries only this package and ``monitor_stats``), so the CDK can write the file at synth time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from monitor_stats.columns import FeatureKind, ModelSpecLike, MonitoredColumn, spec_columns
from monitoring_job.errors import JobConfigError

SCHEMA_VERSION = 1
DEFAULT_NAMESPACE = "MLOps/DataQuality"
DEFAULT_SIGNIFICANCE_LEVEL = 1e-3
DEFAULT_MAX_NEW_CATEGORIES = 100
DEFAULT_CHUNK_RECORDS = 20_000
# CloudWatch allows 30 dimensions per metric; one is the Feature dimension this job adds (API PutMetricData).
_MAX_CONFIG_DIMENSIONS = 29
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True, kw_only=True)
class MetricsConfig:
    namespace: str
    dimensions: tuple[tuple[str, str], ...]
    publish: bool


@dataclass(frozen=True, kw_only=True)
class AlertingConfig:
    alarm_prefix: str
    retrain_on_alarms: bool
    manual_approval: bool = False

    def feature_alarm(self, feature: str) -> str:
        """The per-feature drift alarm's name (mlops_constructs/monitoring_alarms.py)."""
        return f"{self.alarm_prefix}-drift-{feature.replace('_', '-')}"

    @property
    def drift_alarm(self) -> str:
        return f"{self.alarm_prefix}-drift"


@dataclass(frozen=True, kw_only=True)
class JobConfig:
    model_name: str
    endpoint_name: str
    environment: str
    features: tuple[MonitoredColumn, ...]
    prediction: MonitoredColumn | None
    metrics: MetricsConfig
    alerting: AlertingConfig | None = None
    significance_level: float = DEFAULT_SIGNIFICANCE_LEVEL
    max_new_categories: int = DEFAULT_MAX_NEW_CATEGORIES
    chunk_records: int = DEFAULT_CHUNK_RECORDS

    @property
    def monitored(self) -> tuple[MonitoredColumn, ...]:
        """Input features then the prediction: every column that gets statistics."""
        return self.features + ((self.prediction,) if self.prediction is not None else ())

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def fingerprint(self) -> str:
        """Stable text identifying what shapes the shard statistics (merge refuses mixed configs)."""
        parts = [f.fingerprint for f in self.monitored]
        return "|".join([*parts, f"max_new_categories={self.max_new_categories}"])


def load_job_config(path: Path) -> JobConfig:
    """Read and validate the job config file; every problem names the field at fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise JobConfigError(str(path), f"cannot be read ({error.strerror or error})") from error
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise JobConfigError(str(path), f"is not valid JSON (line {error.lineno}: {error.msg})") from error
    return parse_job_config(raw, source=str(path))


def parse_job_config(raw: object, *, source: str = "<job config>") -> JobConfig:
    obj = _object(raw, source)
    version = obj.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise JobConfigError(f"{source}: schema_version", f"unsupported version {version!r} (expected 1)")
    features = _features(obj.get("features"), source)
    prediction = _prediction(obj.get("prediction", None), source)
    names = [f.name for f in features] + ([prediction.name] if prediction else [])
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise JobConfigError(f"{source}: features", f"duplicate names {duplicates} (the prediction included)")
    return JobConfig(
        model_name=_string(obj, "model_name", source),
        endpoint_name=_string(obj, "endpoint_name", source),
        environment=_string(obj, "environment", source),
        features=features,
        prediction=prediction,
        metrics=_metrics(obj.get("metrics"), source),
        alerting=_alerting(obj.get("alerting"), source),
        significance_level=_number(
            obj, "significance_level", source, default=DEFAULT_SIGNIFICANCE_LEVEL, low=1e-12, high=0.5
        ),
        max_new_categories=int(
            _number(obj, "max_new_categories", source, default=DEFAULT_MAX_NEW_CATEGORIES, low=1, high=100_000)
        ),
        chunk_records=int(_number(obj, "chunk_records", source, default=DEFAULT_CHUNK_RECORDS, low=1, high=1_000_000)),
    )


def _object(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise JobConfigError(where, f"must be a JSON object, got {type(raw).__name__}")
    return raw


def _string(obj: Mapping[str, Any], key: str, source: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise JobConfigError(f"{source}: {key}", "is required and must be a non-empty string")
    return value


def _number(obj: Mapping[str, Any], key: str, source: str, *, default: float, low: float, high: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise JobConfigError(f"{source}: {key}", f"must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _features(raw: object, source: str) -> tuple[MonitoredColumn, ...]:
    if not isinstance(raw, list) or not raw:
        raise JobConfigError(f"{source}: features", "is required: a non-empty list of {name, type, drift_threshold}")
    return tuple(_feature(item, f"{source}: features[{i}]") for i, item in enumerate(raw))


def _feature(raw: object, where: str) -> MonitoredColumn:
    obj = _object(raw, where)
    name = obj.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise JobConfigError(f"{where}.name", f"{name!r} is not a valid feature name")
    kind_text = obj.get("type")
    try:
        kind = FeatureKind(str(kind_text))
    except ValueError:
        allowed = ", ".join(k.value for k in FeatureKind)
        raise JobConfigError(f"{where}.type", f"{kind_text!r} is not one of {allowed}") from None
    threshold = _number(obj, "drift_threshold", where, default=0.1, low=0.0, high=1.0)
    categories = obj.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) and c for c in categories):
        raise JobConfigError(f"{where}.categories", "must be a list of non-empty strings (label by code)")
    if categories and kind is not FeatureKind.STRING:
        raise JobConfigError(f"{where}.categories", "only a String feature has categories")
    if len(set(categories)) != len(categories):
        raise JobConfigError(f"{where}.categories", "labels must be unique")
    return MonitoredColumn(name=name, kind=kind, drift_threshold=threshold, categories=tuple(categories))


def _prediction(raw: object, source: str) -> MonitoredColumn | None:
    if raw is None:
        return None
    feature = _feature(raw, f"{source}: prediction")
    if not feature.kind.is_numeric:
        raise JobConfigError(f"{source}: prediction.type", "must be Fractional or Integral (a score or a label)")
    return feature


def _metrics(raw: object, source: str) -> MetricsConfig:
    where = f"{source}: metrics"
    obj = _object(raw if raw is not None else {}, where)
    namespace = obj.get("namespace", DEFAULT_NAMESPACE)
    if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
        raise JobConfigError(f"{where}.namespace", f"{namespace!r} must be non-empty and not start with 'AWS/'")
    dims = _object(obj.get("dimensions", {}), f"{where}.dimensions")
    if len(dims) > _MAX_CONFIG_DIMENSIONS or "Feature" in dims:
        raise JobConfigError(f"{where}.dimensions", "at most 29 dimensions, and 'Feature' is reserved for the job")
    for key, value in dims.items():
        if not isinstance(value, str) or not value:
            raise JobConfigError(f"{where}.dimensions.{key}", "must be a non-empty string")
    publish = obj.get("publish", False)
    if not isinstance(publish, bool):
        raise JobConfigError(f"{where}.publish", "must be true or false")
    return MetricsConfig(namespace=namespace, dimensions=tuple(dims.items()), publish=publish)


def _alerting(raw: object, source: str) -> AlertingConfig | None:
    if raw is None:
        return None
    where = f"{source}: alerting"
    obj = _object(raw, where)
    retrain, manual = obj.get("retrain_on_alarms", False), obj.get("manual_approval", False)
    for key, value in (("retrain_on_alarms", retrain), ("manual_approval", manual)):
        if not isinstance(value, bool):
            raise JobConfigError(f"{where}.{key}", "must be true or false")
    prefix = obj.get("alarm_prefix")
    if not isinstance(prefix, str) or not prefix.strip():
        raise JobConfigError(f"{where}.alarm_prefix", "is required and must be a non-empty string")
    return AlertingConfig(alarm_prefix=prefix, retrain_on_alarms=retrain, manual_approval=manual)


class _Spec(ModelSpecLike, Protocol):
    @property
    def name(self) -> str: ...


def job_config_from_spec(
    spec: _Spec,
    *,
    endpoint_name: str,
    environment: str,
    namespace: str = DEFAULT_NAMESPACE,
    publish: bool = True,
    alerting: AlertingConfig | None = None,
) -> dict[str, Any]:
    """The job config object for a ``config.model_spec.ModelSpec`` (write it with ``json.dumps``); a categorical
    feature's ``categories`` are the spec's, which its model input is encoded with."""
    *features, prediction = spec_columns(spec)
    raw: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model_name": spec.name,
        "endpoint_name": endpoint_name,
        "environment": environment,
        "features": [_column_json(c) for c in features],
        "prediction": _column_json(prediction),
        "metrics": {
            "namespace": namespace,
            "dimensions": {"Model": spec.name, "Environment": environment},
            "publish": publish,
        },
    }
    if alerting is not None:
        raw["alerting"] = {
            "alarm_prefix": alerting.alarm_prefix,
            "retrain_on_alarms": alerting.retrain_on_alarms,
            "manual_approval": alerting.manual_approval,
        }
    parse_job_config(raw, source="job_config_from_spec")  # fail at synth, not in the scheduled job
    return raw


def _column_json(column: MonitoredColumn) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": column.name, "type": column.kind.value, "drift_threshold": column.drift_threshold}
    if column.categories:
        raw["categories"] = list(column.categories)
    return raw

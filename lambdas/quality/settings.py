"""Environment of the retroactive quality evaluation, validated once into a frozen dataclass.

==========================  =========  ===============================================================
Variable                    Default    Meaning
==========================  =========  ===============================================================
``MODEL_NAME``              required   the spec's name, e.g. ``fraud-detection``
``ENVIRONMENT``             required   ``dev`` / ``staging`` / ``prod``
``ENDPOINT_NAME``           required   the serving endpoint (the capture path's first segment)
``DATA_CAPTURE_S3_URI``     required   the endpoint config's ``DestinationS3Uri`` (without endpoint name)
``GROUND_TRUTH_S3_URI``     required   ground-truth prefix; objects under ``yyyy/mm/dd/hh/`` by collection time
``REPORTS_BUCKET``          required   bucket of the JSON reports and of the quarantine
``DECISION_THRESHOLD``      ``0.5``    score at or above which a prediction is positive, in [0, 1]
``LABEL_LAG_HOURS``         ``24``     how long after an inference its label may still be collected (0-336)
``WINDOW_HOURS``            ``1``      length of one evaluation window of inference times (1-168)
``BUSINESS_METRICS``        ``[]``     JSON list, see ``parse_business_metrics``
``EXPECTED_VARIANTS``       ``[]``     JSON list of variant names always reported, zero when nothing was
                                       captured (so missing-data alarms on them can fire)
``QUARANTINE_PREFIX``       see below  key prefix of malformed lines, default ``quality-quarantine``
==========================  =========  ===============================================================

``BUSINESS_METRICS`` is built from the spec at synth time with ``business_metrics_from_spec`` so the function
never imports the configuration package.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class QualityConfigError(ValueError):
    """The function's configuration is incomplete or invalid; the message names the variable."""


class BusinessMetricKind(StrEnum):
    """Same values as ``config.model_spec.BusinessMetricKind``."""

    VALUE_CAUGHT = "value_caught"  # sum of the value column over true positives
    VALUE_MISSED = "value_missed"  # sum of the value column over false negatives
    REVIEW_COST = "review_cost"  # false positives x unit_cost


@dataclass(frozen=True, kw_only=True)
class BusinessMetricConfig:
    name: str
    kind: BusinessMetricKind
    # Column of the captured CSV input (the spec's feature order) holding the value; value kinds only.
    value_column_index: int | None = None
    unit_cost: float | None = None
    unit: str = ""

    @property
    def needs_value(self) -> bool:
        return self.kind in (BusinessMetricKind.VALUE_CAUGHT, BusinessMetricKind.VALUE_MISSED)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    @classmethod
    def parse(cls, uri: str, *, variable: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise QualityConfigError(f"{variable} must be an s3:// URI, got {uri!r}")
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not bucket:
            raise QualityConfigError(f"{variable} has no bucket: {uri!r}")
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_business_metrics(text: str, *, variable: str = "BUSINESS_METRICS") -> tuple[BusinessMetricConfig, ...]:
    """``[{"name", "kind", "value_column_index", "unit_cost", "unit"}]``; unknown keys are rejected."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise QualityConfigError(f"{variable} is not JSON: {error}") from None
    if not isinstance(raw, list):
        raise QualityConfigError(f"{variable} must be a JSON list")
    metrics: list[BusinessMetricConfig] = []
    for index, item in enumerate(raw):
        where = f"{variable}[{index}]"
        if not isinstance(item, dict):
            raise QualityConfigError(f"{where} must be an object")
        unknown = set(item) - {"name", "kind", "value_column_index", "unit_cost", "unit"}
        if unknown:
            raise QualityConfigError(f"{where}: unknown keys {sorted(unknown)}")
        metrics.append(_business_metric(where, item))
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise QualityConfigError(f"{variable}: duplicate metric names")
    return tuple(metrics)


def _business_metric(where: str, item: Mapping[str, Any]) -> BusinessMetricConfig:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise QualityConfigError(f"{where}.name must be a non-empty string")
    try:
        kind = BusinessMetricKind(str(item.get("kind")))
    except ValueError:
        allowed = ", ".join(k.value for k in BusinessMetricKind)
        raise QualityConfigError(f"{where}.kind must be one of {allowed}") from None
    column = item.get("value_column_index")
    cost = item.get("unit_cost")
    unit = item.get("unit", "")
    if column is not None and (isinstance(column, bool) or not isinstance(column, int) or column < 0):
        raise QualityConfigError(f"{where}.value_column_index must be a non-negative integer")
    if cost is not None and (
        isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0
    ):
        raise QualityConfigError(f"{where}.unit_cost must be a non-negative number")
    if not isinstance(unit, str):
        raise QualityConfigError(f"{where}.unit must be a string")
    metric = BusinessMetricConfig(
        name=name,
        kind=kind,
        value_column_index=column,
        unit_cost=None if cost is None else float(cost),
        unit=unit,
    )
    if metric.needs_value and column is None:
        raise QualityConfigError(f"{where}.value_column_index is required for kind '{kind}'")
    if kind is BusinessMetricKind.REVIEW_COST and cost is None:
        raise QualityConfigError(f"{where}.unit_cost is required for kind '{kind}'")
    return metric


class _SpecMetric(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def value_feature(self) -> str | None: ...
    @property
    def unit_cost(self) -> float | None: ...
    @property
    def unit(self) -> str: ...


class _Spec(Protocol):
    @property
    def feature_names(self) -> tuple[str, ...]: ...
    @property
    def business_metrics(self) -> Sequence[_SpecMetric]: ...


def business_metrics_from_spec(spec: _Spec) -> str:
    """The ``BUSINESS_METRICS`` value for a ``config.model_spec.ModelSpec`` (used at synth time).

    A value feature becomes its column index in ``spec.feature_names``, the order of the captured CSV input.
    """
    items: list[dict[str, Any]] = []
    for metric in spec.business_metrics:
        item: dict[str, Any] = {"name": metric.name, "kind": str(metric.kind), "unit": metric.unit}
        if metric.value_feature is not None:
            item["value_column_index"] = spec.feature_names.index(metric.value_feature)
        if metric.unit_cost is not None:
            item["unit_cost"] = metric.unit_cost
        items.append(item)
    return json.dumps(items, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class QualitySettings:
    model_name: str
    environment: str
    endpoint_name: str
    data_capture: S3Location
    ground_truth: S3Location
    reports_bucket: str
    decision_threshold: float = 0.5
    label_lag_hours: int = 24
    window_hours: int = 1
    business_metrics: tuple[BusinessMetricConfig, ...] = ()
    expected_variants: tuple[str, ...] = ()
    quarantine_prefix: str = "quality-quarantine"

    REQUIRED = (
        "MODEL_NAME",
        "ENVIRONMENT",
        "ENDPOINT_NAME",
        "DATA_CAPTURE_S3_URI",
        "GROUND_TRUTH_S3_URI",
        "REPORTS_BUCKET",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> QualitySettings:
        missing = [name for name in cls.REQUIRED if not environ.get(name, "").strip()]
        if missing:
            raise QualityConfigError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            model_name=environ["MODEL_NAME"].strip(),
            environment=environ["ENVIRONMENT"].strip(),
            endpoint_name=environ["ENDPOINT_NAME"].strip(),
            data_capture=S3Location.parse(environ["DATA_CAPTURE_S3_URI"].strip(), variable="DATA_CAPTURE_S3_URI"),
            ground_truth=S3Location.parse(environ["GROUND_TRUTH_S3_URI"].strip(), variable="GROUND_TRUTH_S3_URI"),
            reports_bucket=environ["REPORTS_BUCKET"].strip(),
            decision_threshold=_number(environ, "DECISION_THRESHOLD", 0.5, 0.0, 1.0),
            label_lag_hours=_integer(environ, "LABEL_LAG_HOURS", 24, 0, 24 * 14),
            window_hours=_integer(environ, "WINDOW_HOURS", 1, 1, 24 * 7),
            business_metrics=parse_business_metrics(environ.get("BUSINESS_METRICS", "").strip() or "[]"),
            expected_variants=_names(environ, "EXPECTED_VARIANTS"),
            quarantine_prefix=environ.get("QUARANTINE_PREFIX", "").strip().strip("/") or "quality-quarantine",
        )


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise QualityConfigError(f"{name} must be a number, got {text!r}") from None
    if not (low <= value <= high):
        raise QualityConfigError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise QualityConfigError(f"{name} must be an integer, got {text!r}") from None
    if not (low <= value <= high):
        raise QualityConfigError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def _names(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    text = environ.get(name, "").strip() or "[]"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise QualityConfigError(f"{name} is not JSON: {error}") from None
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise QualityConfigError(f"{name} must be a JSON list of non-empty strings")
    return _unique(raw)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))

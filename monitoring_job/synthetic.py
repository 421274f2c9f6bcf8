"""Synthetic data capture for tests, local runs and the benchmark (never imported by the job itself).

Two feature sets:

- ``fraud_features()``: the example model's twelve features (config/models/fraud_detection.py) with plausible
  distributions (log-normal amounts, Poisson counts, a day-shaped hour of day, ...);
- ``wide_features(n_numeric, n_categorical)``: a generic wide model for the benchmark.

Each feature has a normal and a drifted sampler; the drifted one moves the distribution by an amount a
person would call drift (about half a standard deviation, or a category share up by 25 points), which puts the
drift distance at 0.15-0.3, well above the default threshold 0.1. The prediction is a fixed function of the
inputs plus noise, so input drift shows up as prediction drift too.

Lines follow the capture format (docs/aws-facts.md#data-capture) byte for byte as SageMaker writes them: compact
JSON, ``"encoding": "CSV"`` with the features in spec order, the score in ``endpointOutput``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor_stats.binning import FloatArray
from monitor_stats.columns import PREDICTION, FeatureKind, MonitoredColumn
from monitor_stats.suggest import suggest_baseline

Rng = np.random.Generator
Values = FloatArray | list[str]
Sampler = Callable[[Rng, int], Values]


@dataclass(frozen=True)
class SyntheticFeature:
    name: str
    kind: FeatureKind
    normal: Sampler
    drifted: Sampler
    missing_rate: float = 0.0

    @property
    def config(self) -> MonitoredColumn:
        return MonitoredColumn(name=self.name, kind=self.kind, drift_threshold=0.1)


def _categories(values: Sequence[str], normal: Sequence[float], drifted: Sequence[float]) -> tuple[Sampler, Sampler]:
    def sampler(probabilities: Sequence[float]) -> Sampler:
        weights = np.asarray(probabilities, dtype=np.float64) / sum(probabilities)
        return lambda rng, n: [values[i] for i in rng.choice(len(values), size=n, p=weights).tolist()]

    return sampler(normal), sampler(drifted)


def _hours(peak: float) -> Sampler:
    return lambda rng, n: np.floor(np.mod(rng.normal(peak, 4.0, size=n), 24.0))


def fraud_features() -> list[SyntheticFeature]:
    """The example model's features, in spec order."""
    category = _categories(
        ["grocery", "restaurant", "travel", "online", "fuel", "entertainment", "health", "utilities"],
        [0.25, 0.18, 0.07, 0.15, 0.12, 0.08, 0.07, 0.08],
        [0.12, 0.10, 0.05, 0.45, 0.10, 0.08, 0.05, 0.05],
    )
    fractional, integral, string = FeatureKind.FRACTIONAL, FeatureKind.INTEGRAL, FeatureKind.STRING
    return [
        SyntheticFeature("amount", fractional, _lognormal(3.5, 1.0), _lognormal(4.0, 1.0)),
        SyntheticFeature("merchant_category", string, *category),
        SyntheticFeature("hour_of_day", integral, _hours(14.0), _hours(18.0)),
        SyntheticFeature("card_present", integral, _bernoulli(0.65), _bernoulli(0.40)),
        SyntheticFeature("distance_from_home_km", fractional, _exponential(15.0), _exponential(30.0)),
        SyntheticFeature("spend_1d", fractional, _gamma(2.0, 60.0), _gamma(2.0, 100.0)),
        SyntheticFeature("spend_7d", fractional, _gamma(3.0, 150.0), _gamma(3.0, 240.0)),
        SyntheticFeature("spend_30d", fractional, _gamma(4.0, 400.0), _gamma(4.0, 640.0)),
        SyntheticFeature("count_1d", integral, _poisson(2.0), _poisson(3.5)),
        SyntheticFeature("count_7d", integral, _poisson(9.0), _poisson(13.0)),
        SyntheticFeature("count_30d", integral, _poisson(35.0), _poisson(45.0)),
        SyntheticFeature("amount_to_avg_30d", fractional, _lognormal(0.0, 0.5), _lognormal(0.3, 0.5)),
    ]


def wide_features(n_numeric: int = 20, n_categorical: int = 3) -> list[SyntheticFeature]:
    """A wide generic model: numeric features cycle normal / log-normal / Poisson; categoricals have 6 values."""
    features: list[SyntheticFeature] = []
    for i in range(n_numeric):
        name = f"num_{i:02d}"
        if i % 3 == 0:
            normal, drifted = _normal(i, 1.0 + i), _normal(i + 0.5 * (1.0 + i), 1.0 + i)
            features.append(SyntheticFeature(name, FeatureKind.FRACTIONAL, normal, drifted))
        elif i % 3 == 1:
            features.append(SyntheticFeature(name, FeatureKind.FRACTIONAL, _lognormal(1.0, 0.8), _lognormal(1.4, 0.8)))
        else:
            features.append(SyntheticFeature(name, FeatureKind.INTEGRAL, _poisson(5.0 + i), _poisson(7.0 + 1.3 * i)))
    for j in range(n_categorical):
        values = [f"c{j}_{k}" for k in range(6)]
        normal, drifted = _categories(values, [0.3, 0.25, 0.2, 0.1, 0.1, 0.05], [0.05, 0.25, 0.2, 0.1, 0.1, 0.3])
        position = (j + 1) * (n_numeric + n_categorical) // (n_categorical + 1)
        features.insert(position, SyntheticFeature(f"cat_{j}", FeatureKind.STRING, normal, drifted))
    return features


def _normal(mean: float, std: float) -> Sampler:
    return lambda rng, n: rng.normal(mean, std, size=n)


def _lognormal(mean: float, sigma: float) -> Sampler:
    return lambda rng, n: np.round(rng.lognormal(mean, sigma, size=n), 2)


def _exponential(scale: float) -> Sampler:
    return lambda rng, n: np.round(rng.exponential(scale, size=n), 3)


def _gamma(shape: float, scale: float) -> Sampler:
    return lambda rng, n: np.round(rng.gamma(shape, scale, size=n), 2)


def _poisson(lam: float) -> Sampler:
    return lambda rng, n: rng.poisson(lam, size=n).astype(np.float64)


def _bernoulli(p: float) -> Sampler:
    return lambda rng, n: (rng.random(size=n) < p).astype(np.float64)


def generate(
    features: Sequence[SyntheticFeature], rows: int, seed: int, *, drifted: frozenset[str] = frozenset()
) -> dict[str, Values]:
    """Columns for ``rows`` records (missing values as NaN / None) plus the model's ``prediction``."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Values] = {}
    for feature in features:
        sampler = feature.drifted if feature.name in drifted else feature.normal
        values = sampler(rng, rows)
        if feature.missing_rate:
            missing = rng.random(size=rows) < feature.missing_rate
            if isinstance(values, list):
                values = [None if m else v for v, m in zip(values, missing.tolist(), strict=True)]  # type: ignore[misc]
            else:
                values = np.where(missing, np.nan, values)
        columns[feature.name] = values
    columns[PREDICTION] = _prediction(features, columns, rng, rows)
    return columns


def _prediction(features: Sequence[SyntheticFeature], columns: Mapping[str, Values], rng: Rng, rows: int) -> FloatArray:
    score = rng.normal(-1.5, 0.5, size=rows)
    numeric = [f.name for f in features if f.kind.is_numeric][:4]
    for name in numeric:
        values = np.nan_to_num(np.asarray(columns[name], dtype=np.float64))
        score += 0.8 * np.log1p(np.abs(values)) / max(1.0, float(np.log1p(np.abs(values)).mean()))
    return np.round(1.0 / (1.0 + np.exp(-(score - 2.0))), 4)


def config_features(features: Sequence[SyntheticFeature]) -> list[MonitoredColumn]:
    return [f.config for f in features]


def job_config(
    features: Sequence[SyntheticFeature],
    *,
    thresholds: Mapping[str, float] | None = None,
    publish: bool = False,
    model_name: str = "fraud-detection",
    environment: str = "dev",
) -> dict[str, Any]:
    thresholds = thresholds or {}
    return {
        "schema_version": 1,
        "model_name": model_name,
        "endpoint_name": f"{model_name}-{environment}",
        "environment": environment,
        "features": [
            {"name": f.name, "type": f.kind.value, "drift_threshold": thresholds.get(f.name, 0.1)} for f in features
        ],
        "prediction": {"name": PREDICTION, "type": "Fractional", "drift_threshold": thresholds.get(PREDICTION, 0.1)},
        "metrics": {
            "namespace": "MLOps/DataQuality",
            "dimensions": {"Model": model_name, "Environment": environment},
            "publish": publish,
        },
    }


def write_baseline(directory: Path, features: Sequence[SyntheticFeature], columns: Mapping[str, Values]) -> None:
    """statistics.json + constraints.json for the columns (prediction included)."""
    prediction = MonitoredColumn(name=PREDICTION, kind=FeatureKind.FRACTIONAL, drift_threshold=0.1)
    statistics, constraints = suggest_baseline(columns, [*config_features(features), prediction])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "statistics.json").write_text(json.dumps(statistics), encoding="utf-8")
    (directory / "constraints.json").write_text(json.dumps(constraints), encoding="utf-8")


def csv_fields(features: Sequence[SyntheticFeature], columns: Mapping[str, Values]) -> list[list[str]]:
    """Each column as CSV text fields (missing = empty field)."""
    fields: list[list[str]] = []
    for feature in features:
        values = columns[feature.name]
        if isinstance(values, list):
            fields.append(["" if v is None else str(v) for v in values])
        elif feature.kind is FeatureKind.INTEGRAL:
            fields.append(
                ["" if math.isnan(v) else str(int(v)) if v.is_integer() else repr(v) for v in values.tolist()]
            )
        else:
            fields.append(["" if math.isnan(v) else repr(v) for v in values.tolist()])
    return fields


_CSV_LINE = (
    '{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","mode":"INPUT","data":"{data}",'
    '"encoding":"CSV"}},"endpointOutput":{{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT",'
    '"data":"{output}","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"{event}","inferenceId":"{event}",'
    '"inferenceTime":"2026-01-01T{hour:02d}:{minute:02d}:00Z"}},"eventVersion":"0"}}'
)


def _event_id(index: int, seed: int) -> str:
    return f"{seed:08x}-{index >> 16:04x}-4000-8000-{index:012x}"


def capture_line(*, data: str, output: str, index: int, seed: int = 0) -> str:
    """One capture line (no newline) of a CSV request ``data`` and its CSV response ``output``, byte for byte as
    SageMaker writes it; ``index`` numbers the request (its event id and inference time)."""
    hour, minute = (index // 3600) % 24, (index // 60) % 60
    return _CSV_LINE.format(data=data, output=output, event=_event_id(index, seed), hour=hour, minute=minute)


def capture_lines(
    features: Sequence[SyntheticFeature], columns: Mapping[str, Values], *, encoding: str = "CSV", seed: int = 0
) -> Iterator[str]:
    """Capture lines (no newline) for every record; ``encoding`` is CSV, JSON or BASE64."""
    rows = list(zip(*csv_fields(features, columns), strict=True))
    predictions = np.asarray(columns[PREDICTION], dtype=np.float64).tolist()
    for i, (row, score) in enumerate(zip(rows, predictions, strict=True)):
        if encoding == "CSV":
            yield capture_line(data=",".join(row), output=repr(score), index=i, seed=seed)
        else:
            yield json.dumps(_record(features, row, score, encoding, _event_id(i, seed)), separators=(",", ":"))


def _record(
    features: Sequence[SyntheticFeature], row: Sequence[str], score: float, encoding: str, event: str
) -> dict[str, Any]:
    if encoding == "JSON":
        payload: dict[str, object] = {}
        for feature, text in zip(features, row, strict=True):
            payload[feature.name] = None if text == "" else text if feature.kind is FeatureKind.STRING else float(text)
        body = json.dumps(payload)
        request = {"observedContentType": "application/json", "mode": "INPUT", "data": body, "encoding": "JSON"}
    else:
        body = base64.b64encode(",".join(row).encode()).decode()
        request = {"observedContentType": "text/csv", "mode": "INPUT", "data": body, "encoding": "BASE64"}
    response = {"observedContentType": "text/csv", "mode": "OUTPUT", "data": repr(score), "encoding": "CSV"}
    return {
        "captureData": {"endpointInput": request, "endpointOutput": response},
        "eventMetadata": {"eventId": event, "inferenceId": event, "inferenceTime": "2026-01-01T00:00:00Z"},
        "eventVersion": "0",
    }


def write_capture(
    directory: Path, lines: Iterator[str] | Sequence[str], *, files: int = 1, endpoint: str = "ep"
) -> list[Path]:
    """Spread lines round-robin over ``files`` files laid out like SageMaker's capture prefix."""
    day = directory / endpoint / "AllTraffic" / "2026" / "01" / "01"
    paths = [day / f"{k % 24:02d}" / f"capture-{k:04d}.jsonl" for k in range(files)]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    handles = [path.open("w", encoding="utf-8") for path in paths]
    try:
        for i, line in enumerate(lines):
            handles[i % files].write(line + "\n")
    finally:
        for handle in handles:
            handle.close()
    return paths


@dataclass(frozen=True)
class Scenario:
    """Paths of a ready-to-run local job: capture folder, baseline folder, job config file."""

    capture: Path
    baseline: Path
    config: Path

    def cli_args(self, output: Path, *extra: str) -> list[str]:
        return [
            "analyze",
            "--input",
            str(self.capture),
            "--baseline",
            str(self.baseline),
            "--config",
            str(self.config),
            "--output",
            str(output),
            "--no-publish",
            *extra,
        ]


def build_scenario(
    root: Path,
    features: Sequence[SyntheticFeature],
    *,
    rows: int,
    seed: int,
    baseline_rows: int = 20_000,
    drifted: frozenset[str] = frozenset(),
    files: int = 2,
    encoding: str = "CSV",
    config_overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """A baseline from one sample, capture files from another (drawn with ``drifted`` features moved)."""
    scenario = Scenario(root / "capture", root / "baseline", root / "job_config.json")
    write_baseline(scenario.baseline, features, generate(features, baseline_rows, seed * 2 + 1))
    current = generate(features, rows, seed * 2 + 2, drifted=drifted)
    write_capture(scenario.capture, capture_lines(features, current, encoding=encoding, seed=seed), files=files)
    config = {**job_config(features), **(config_overrides or {})}
    scenario.config.write_text(json.dumps(config), encoding="utf-8")
    return scenario

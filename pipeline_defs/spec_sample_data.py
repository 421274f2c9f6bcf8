"""Deterministic sample data for ANY model spec, from its feature types and groups.

The fraud example has its own simulator (``pipeline_defs.sample_data``: raw card transactions through
``lambdas/shared/features.py``). Every other model writes its feature records itself, so this generator produces
those records directly, shaped by the spec alone:

- entities (``spec.entity_id``: ``E00000``...) take snapshots at random times, about ``snapshots_per_day`` a day;
  each snapshot writes one record to every feature group at the snapshot's event time, as the offline store
  keeps it (plus ``api_invocation_time``, ``write_time``, ``is_deleted``), and one labelled row;
- a ``Fractional`` feature is log-normal and an ``Integral`` one Poisson, around a per-feature level and a
  per-entity tendency (an entity stays itself from one snapshot to the next); a ``String`` feature takes one of
  its spec's categories, mostly the entity's usual one;
- the label (0/1) is drawn from a logistic model of every feature (each numeric feature, and each category, gets
  a hidden effect), so there is a relation for the model to learn; ``positive_rate`` sets the base rate;
- ``covariate_drift`` (0 = none, 1 = strong) moves the inputs: numeric values grow by ``1 + 0.6 x drift`` and the
  categories' weights tilt towards the last ones; the relation between inputs and label is unchanged;
- ``concept_drift`` reverses that relation (every effect changes sign): a model trained before it is wrong after.

Every random choice comes from one generator seeded by ``seed``: the same spec and knobs give the same data.

Layout (``write``), as the dataset step reads it::

    out_dir/feature_groups/<group>/part-00000.parquet
    out_dir/labels/labels.parquet        [label id,] entity id, event time, label
    out_dir/summary.json

CLI: ``python -m pipeline_defs.spec_sample_data --model NAME --out DIR [--entities N --days D --seed S
--covariate-drift X --concept-drift]`` (NAME is one of ``config.MODELS``).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from config import ModelSpec
from config.model_spec import Feature, FeatureType
from lambdas.shared.features import format_event_time
from pipeline_defs.offline_store import choose_model, write_tables

# How strongly the label follows the inputs: the logit is this times a unit-variance score.
_SIGNAL = 3.0


@dataclass(frozen=True, kw_only=True)
class SpecSampleConfig:
    entities: int = 200
    days: int = 30
    seed: int = 0
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    snapshots_per_day: float = 1.0
    positive_rate: float = 0.2
    covariate_drift: float = 0.0
    concept_drift: bool = False

    def __post_init__(self) -> None:
        if self.entities < 1:
            raise ValueError("entities must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0.0 < self.snapshots_per_day <= 24.0:
            raise ValueError("snapshots_per_day must be in (0, 24]")
        if not 0.0 < self.positive_rate < 1.0:
            raise ValueError("positive_rate must be between 0 and 1")
        if not 0.0 <= self.covariate_drift <= 3.0:
            raise ValueError("covariate_drift must be between 0 and 3")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


@dataclass
class SpecSampleData:
    spec: ModelSpec
    config: SpecSampleConfig
    # Per feature group: offline-store rows (entity id, event time, the group's features, system columns).
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    labels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def positive_rate(self) -> float:
        return sum(row[self.spec.label] for row in self.labels) / len(self.labels) if self.labels else 0.0


@dataclass(frozen=True)
class _Profile:
    """One feature's hidden shape: its level, spread, and effect on the label."""

    level: float
    spread: float
    effect: float
    # String features: each category's base weight and effect on the label.
    weights: tuple[float, ...] = ()
    category_effects: tuple[float, ...] = ()


class _Simulator:
    def __init__(self, spec: ModelSpec, config: SpecSampleConfig) -> None:
        self.spec = spec
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.profiles = {f.name: self._profile(f) for f in spec.features}
        # Each entity's lasting tendency per feature (a z-score), drawn once.
        self.tendency = self.rng.normal(0.0, 1.0, size=(config.entities, len(spec.features)))
        self.weights = {f.name: self._weights(f) for f in spec.features if f.is_categorical}
        self.usual_category = {
            name: self.rng.choice(len(weights), size=config.entities, p=weights)
            for name, weights in self.weights.items()
        }
        self.intercept = math.log(config.positive_rate / (1.0 - config.positive_rate))

    def _profile(self, feature: Feature) -> _Profile:
        effect = float(self.rng.choice([-1.0, 1.0]) * self.rng.uniform(0.6, 1.0))
        if feature.is_categorical:
            count = len(feature.categories)
            weights = self.rng.dirichlet(np.full(count, 2.0))
            raw = self.rng.normal(0.0, 1.0, size=count)
            # Standardised under the weights, so a categorical feature weighs like a numeric one.
            centred = raw - float(weights @ raw)
            scale = math.sqrt(float(weights @ centred**2)) or 1.0
            return _Profile(
                level=0.0,
                spread=0.0,
                effect=effect,
                weights=tuple(float(w) for w in weights),
                category_effects=tuple(float(e) for e in centred / scale),
            )
        if feature.type is FeatureType.INTEGRAL:
            return _Profile(level=float(self.rng.uniform(math.log(2.0), math.log(30.0))), spread=0.4, effect=effect)
        return _Profile(level=float(self.rng.uniform(0.0, math.log(500.0))), spread=0.5, effect=effect)

    def _weights(self, feature: Feature) -> Any:
        """The categories' weights, tilted towards the last ones under covariate drift."""
        base = np.array(self.profiles[feature.name].weights)
        tilt = np.exp(self.config.covariate_drift * np.linspace(0.0, 2.0, base.size))
        weights = base * tilt
        return weights / weights.sum()

    def snapshots(self, entity: int) -> list[tuple[datetime, dict[str, Any], int]]:
        """The entity's snapshots in time order: event time, feature values, label."""
        times = self.snapshot_times()
        n = len(times)
        columns: dict[str, list[Any]] = {}
        score = np.zeros(n)
        growth = 1.0 + 0.6 * self.config.covariate_drift
        for index, feature in enumerate(self.spec.features):
            profile = self.profiles[feature.name]
            if feature.is_categorical:
                usual = int(self.usual_category[feature.name][entity])
                other = self.rng.choice(len(feature.categories), size=n, p=self.weights[feature.name])
                codes = np.where(self.rng.random(n) < 0.7, usual, other)
                columns[feature.name] = [feature.categories[int(c)] for c in codes]
                score += profile.effect * np.asarray(profile.category_effects)[codes]
                continue
            z = 0.8 * self.tendency[entity, index] + 0.6 * self.rng.normal(size=n)
            score += profile.effect * z
            mean = np.exp(profile.level + profile.spread * z) * growth
            if feature.type is FeatureType.INTEGRAL:
                columns[feature.name] = [int(v) for v in self.rng.poisson(mean)]
            else:
                columns[feature.name] = [round(float(v), 4) for v in mean]
        score /= math.sqrt(sum(p.effect**2 for p in self.profiles.values()))  # unit variance
        if self.config.concept_drift:
            score = -score
        probability = 1.0 / (1.0 + np.exp(-(self.intercept + _SIGNAL * score)))
        labels = self.rng.random(n) < probability
        return [
            (moment, {name: values[i] for name, values in columns.items()}, int(labels[i]))
            for i, moment in enumerate(times)
        ]

    def snapshot_times(self) -> list[datetime]:
        """Random times over the days, at millisecond precision, distinct per entity."""
        count = int(self.rng.poisson(self.config.snapshots_per_day * self.config.days))
        offsets = self.rng.uniform(0.0, self.config.days * 86_400_000.0, size=max(count, 1))
        millis = sorted({int(m) for m in offsets})
        return [self.config.start + timedelta(milliseconds=m) for m in millis]


def generate(spec: ModelSpec, config: SpecSampleConfig) -> SpecSampleData:
    """Simulate the configured entities for ``spec``; deterministic in ``spec`` and ``config``."""
    simulator = _Simulator(spec, config)
    rows: list[tuple[datetime, str, dict[str, Any], int]] = []
    for entity in range(config.entities):
        entity_id = f"E{entity:05d}"
        rows.extend((moment, entity_id, values, label) for moment, values, label in simulator.snapshots(entity))
    rows.sort(key=lambda row: (row[0], row[1]))
    data = SpecSampleData(spec=spec, config=config, records={g.name: [] for g in spec.feature_groups})
    for index, (moment, entity_id, values, label) in enumerate(rows):
        event_time = format_event_time(moment)
        invoked = moment + timedelta(milliseconds=int(simulator.rng.exponential(1500.0)))
        written = invoked + timedelta(seconds=float(simulator.rng.uniform(60.0, 900.0)))
        system = {
            "api_invocation_time": invoked.replace(tzinfo=None),
            "write_time": written.replace(tzinfo=None, microsecond=written.microsecond // 1000 * 1000),
            "is_deleted": False,
        }
        for group in spec.feature_groups:
            record = {f.name: values[f.name] for f in spec.features_of(group.name)}
            data.records[group.name].append(
                {spec.entity_id: entity_id, spec.event_time: event_time, **record, **system}
            )
        labelled = {spec.entity_id: entity_id, spec.event_time: event_time, spec.label: label}
        if spec.label_id is not None:
            labelled = {spec.label_id: f"L{index:08d}", **labelled}
        data.labels.append(labelled)
    return data


def write(data: SpecSampleData, out_dir: Path) -> dict[str, Any]:
    """Write the data as the dataset step reads it under ``out_dir``; return the summary it also writes."""
    spec = data.spec
    write_tables(spec, data.records, data.labels, out_dir)
    summary = {
        "model": spec.name,
        "config": {**asdict(data.config), "start": format_event_time(data.config.start)},
        # Every snapshot's features are complete when it is written: labels from the start are usable.
        "window_start": format_event_time(data.config.start),
        "labelled_rows": len(data.labels),
        "positives": sum(row[spec.label] for row in data.labels),
        "positive_rate": round(data.positive_rate, 5),
        "feature_groups": {group: len(rows) for group, rows in data.records.items()},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spec_sample_data", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a model name from config.MODELS")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--entities", type=int, default=SpecSampleConfig.entities)
    parser.add_argument("--days", type=int, default=SpecSampleConfig.days)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default="2024-01-01T00:00:00Z", help="first day (ISO-8601, UTC)")
    parser.add_argument("--covariate-drift", type=float, default=0.0, help="0 = none .. 1 = strong")
    parser.add_argument("--concept-drift", action="store_true", help="the inputs' relation to the label reverses")
    return parser


def main(argv: Sequence[str] | None = None, *, models: Sequence[ModelSpec] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    spec = choose_model(parser, args.model, models)
    try:
        sample = SpecSampleConfig(
            entities=args.entities,
            days=args.days,
            seed=args.seed,
            start=datetime.fromisoformat(args.start),
            covariate_drift=args.covariate_drift,
            concept_drift=args.concept_drift,
        )
    except ValueError as error:
        parser.error(str(error))
    summary = write(generate(spec, sample), args.out)
    print(json.dumps({k: summary[k] for k in ("labelled_rows", "positives", "positive_rate")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

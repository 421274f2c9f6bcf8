"""Deterministic sample data for the ``fraud-detection`` model: raw transactions, feature-store rows, labels.

``generate(SampleConfig(...))`` simulates card customers over a number of days and returns
- the raw transaction events (the ingestion path's input, schema in ``lambdas/shared/features.py``),
- one feature record per transaction and feature group, computed by ``lambdas/shared/features.py`` and shaped
  as the Feature Store offline store keeps them (plus ``api_invocation_time``, ``write_time``, ``is_deleted``),
- the labels table (``transaction_id``, ``customer_id``, ``event_time``, ``is_fraud``).
``write(data, out_dir)`` lays them out as the dataset step reads them::

    out_dir/feature_groups/<group>/part-00000.parquet
    out_dir/labels/labels.parquet
    out_dir/raw/events.jsonl
    out_dir/summary.json

The simulation, with the same seed and knobs, always produces the same bytes of data:
- legitimate spending: each customer has a home city, a typical amount, a daily rate and a card-present
  habit; most purchases are near home in the daytime;
- fraud (about 2% of transactions) comes in short bursts on a compromised card. Before concept drift it is
  card-not-present, far from home, at night and several times the customer's usual amount;
- ``covariate_drift`` (0 = none, 1 = strong) shifts what everybody does: larger amounts, more
  card-not-present and online spending; the fraud mechanism is unchanged;
- ``concept_drift`` changes the fraud mechanism itself: fraud moves to card-present, near-home, daytime
  purchases (skimmed cards), so a model trained before it learns the wrong relation;
- ``history_days`` of the same activity come before ``start``: the feature store's history. Without it the
  30-day rolling features of the first weeks would only cover the days since the simulation began, so early
  (training) rows would look different from later (test, production) rows on spend and count features: drift
  that is an artefact of the generator. Train on the labels from ``start`` on (the dataset step's
  ``--window-start``; ``local_run`` passes it) and every row's windows are full.

CLI: ``python -m pipeline_defs.sample_data --out DIR --customers N --days D --seed S
[--covariate-drift X] [--concept-drift]``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from config import FRAUD_DETECTION
from lambdas.shared.features import (
    ENTITY_ID,
    EVENT_TIME,
    FEATURE_GROUPS,
    FEATURE_TYPES,
    FeatureRecord,
    TransactionEvent,
    batch_feature_records,
    format_event_time,
    parse_event,
)

LABEL = "is_fraud"
OFFLINE_STORE_COLUMNS = ("api_invocation_time", "write_time", "is_deleted")

# (latitude, longitude, UTC offset in minutes) of the cities customers live in.
_CITIES: tuple[tuple[float, float, int], ...] = (
    (40.71, -74.01, -300),
    (41.88, -87.63, -360),
    (39.74, -104.99, -420),
    (34.05, -118.24, -480),
    (25.76, -80.19, -300),
    (47.61, -122.33, -480),
    (29.76, -95.37, -360),
    (42.36, -71.06, -300),
)
# Relative likelihood of each local hour 0..23 for legitimate spending.
_LEGIT_HOURS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 5, 6, 7, 8, 10, 9, 8, 8, 8, 9, 10, 9, 7, 5, 3, 2])
# The spec's merchant categories; the weights and scales below are per category, in this order.
_CATEGORIES = FRAUD_DETECTION.category_vocabularies["merchant_category"]
_CATEGORY_SCALE = np.array([1.0, 0.8, 1.0, 1.3, 1.2, 3.0, 2.5, 0.9, 1.1, 1.5])
_LEGIT_CATEGORY_WEIGHTS = np.array([30, 20, 10, 12, 10, 2, 3, 6, 5, 2], dtype=float)
_FRAUD_CATEGORY_WEIGHTS = np.array([2, 2, 2, 6, 35, 15, 25, 3, 1, 9], dtype=float)
_DRIFTED_FRAUD_CATEGORY_WEIGHTS = np.array([25, 5, 15, 25, 0, 2, 25, 3, 0, 0], dtype=float)
_ONLINE = _CATEGORIES.index("online")


@dataclass(frozen=True, kw_only=True)
class SampleConfig:
    customers: int = 200
    days: int = 30
    seed: int = 0
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    # Days simulated before ``start`` so that every 30-day rolling window from ``start`` on is full.
    history_days: int = 30
    covariate_drift: float = 0.0
    concept_drift: bool = False
    transactions_per_day: float = 1.5
    fraud_incidents_per_customer_day: float = 0.016

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.history_days < 0:
            raise ValueError("history_days must not be negative")
        if not 0.0 <= self.covariate_drift <= 3.0:
            raise ValueError("covariate_drift must be between 0 and 3")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")


@dataclass(frozen=True)
class _Customer:
    customer_id: str
    home_lat: float
    home_lon: float
    utc_offset_minutes: int
    typical_amount: float
    daily_rate: float
    card_present_rate: float


@dataclass
class SampleData:
    config: SampleConfig
    events: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    records: dict[str, list[FeatureRecord]] = field(default_factory=dict)
    # Offline-store system columns per group, aligned with ``records``.
    system_columns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def fraud_rate(self) -> float:
        return sum(row[LABEL] for row in self.labels) / len(self.labels) if self.labels else 0.0


class _Simulator:
    def __init__(self, config: SampleConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)

    def customers(self) -> list[_Customer]:
        result = []
        for index in range(self.config.customers):
            lat, lon, offset = _CITIES[int(self.rng.integers(len(_CITIES)))]
            card_present = float(np.clip(self.rng.normal(0.75, 0.1), 0.3, 0.95)) - 0.4 * self.config.covariate_drift
            result.append(
                _Customer(
                    customer_id=f"C{index:05d}",
                    home_lat=lat + float(self.rng.normal(0, 0.15)),
                    home_lon=lon + float(self.rng.normal(0, 0.15)),
                    utc_offset_minutes=offset,
                    typical_amount=float(np.exp(self.rng.normal(math.log(45.0), 0.5))),
                    daily_rate=self.config.transactions_per_day * float(self.rng.gamma(4.0, 0.25)),
                    card_present_rate=max(0.05, card_present),
                )
            )
        return result

    def transactions(self, customer: _Customer) -> list[tuple[dict[str, Any], int]]:
        """The customer's raw events (without transaction ids yet) with their labels."""
        first, days = -self.config.history_days, self.config.history_days + self.config.days
        out = [
            (self._legit(customer, day), 0)
            for day in range(first, self.config.days)
            for _ in range(int(self.rng.poisson(customer.daily_rate)))
        ]
        incidents = int(self.rng.poisson(self.config.fraud_incidents_per_customer_day * days))
        for _ in range(incidents):
            moment = self.config.start + timedelta(days=float(self.rng.uniform(first, self.config.days)))
            for _ in range(1 + int(self.rng.poisson(0.8))):
                out.append((self._fraud(customer, moment), 1))
                moment += timedelta(minutes=float(self.rng.exponential(40.0)))
        return out

    def _legit(self, customer: _Customer, day: int) -> dict[str, Any]:
        drift = self.config.covariate_drift
        hour = int(self.rng.choice(24, p=_LEGIT_HOURS / _LEGIT_HOURS.sum()))
        weights = _LEGIT_CATEGORY_WEIGHTS.copy()
        weights[_ONLINE] *= 1.0 + 2.0 * drift
        category = int(self.rng.choice(len(_CATEGORIES), p=weights / weights.sum()))
        amount = (
            customer.typical_amount
            * float(self.rng.lognormal(0.0, 0.45))
            * _CATEGORY_SCALE[category]
            * (1.0 + 0.6 * drift)
        )
        card_present = category != _ONLINE and self.rng.random() < customer.card_present_rate
        u = self.rng.random()
        if category == _ONLINE:
            distance = float(self.rng.exponential(10.0))
        elif u < 0.88:
            distance = float(self.rng.exponential(4.0))
        elif u < 0.97:
            distance = float(self.rng.uniform(20.0, 150.0))
        else:
            distance = float(self.rng.uniform(300.0, 2500.0))
        local = (
            self.config.start + timedelta(days=day, hours=hour) + timedelta(seconds=float(self.rng.uniform(0, 3600)))
        )
        return self._event(
            customer,
            local,
            amount=amount,
            category=_CATEGORIES[category],
            card_present=card_present,
            distance_km=distance,
        )

    def _fraud(self, customer: _Customer, local: datetime) -> dict[str, Any]:
        if self.config.concept_drift:
            return self._skimmed_card_fraud(customer, local)
        scale = 1.0 + 0.6 * self.config.covariate_drift
        if self.rng.random() < 0.65:
            local = local.replace(hour=int(self.rng.integers(0, 6)))
        category = int(self.rng.choice(len(_CATEGORIES), p=_FRAUD_CATEGORY_WEIGHTS / _FRAUD_CATEGORY_WEIGHTS.sum()))
        card_present = category != _ONLINE and self.rng.random() < 0.15
        far = self.rng.random() < 0.7
        distance = float(self.rng.uniform(200.0, 4000.0) if far else self.rng.exponential(8.0))
        amount = customer.typical_amount * float(self.rng.uniform(2.0, 7.0)) * scale
        return self._event(
            customer,
            local,
            amount=amount,
            category=_CATEGORIES[category],
            card_present=card_present,
            distance_km=distance,
        )

    def _skimmed_card_fraud(self, customer: _Customer, local: datetime) -> dict[str, Any]:
        scale = 1.0 + 0.6 * self.config.covariate_drift
        if self.rng.random() < 0.85:
            local = local.replace(hour=int(self.rng.integers(9, 19)))
        weights = _DRIFTED_FRAUD_CATEGORY_WEIGHTS
        category = int(self.rng.choice(len(_CATEGORIES), p=weights / weights.sum()))
        card_present = bool(self.rng.random() < 0.9)
        near = self.rng.random() < 0.9
        distance = float(self.rng.exponential(3.0) if near else self.rng.uniform(20.0, 150.0))
        amount = customer.typical_amount * float(self.rng.uniform(2.5, 8.0)) * scale
        return self._event(
            customer,
            local,
            amount=amount,
            category=_CATEGORIES[category],
            card_present=card_present,
            distance_km=distance,
        )

    def _event(
        self,
        customer: _Customer,
        local: datetime,
        *,
        amount: float,
        category: str,
        card_present: bool,
        distance_km: float,
    ) -> dict[str, Any]:
        """A raw event as a client sends it: local wall-clock time with its offset, coordinates not distance.

        ``local`` carries the wall-clock time of the customer's city (its tzinfo is ignored)."""
        wall_clock = local.replace(
            tzinfo=timezone(timedelta(minutes=customer.utc_offset_minutes)),
            microsecond=local.microsecond // 1000 * 1000,
        )
        merchant_lat, merchant_lon = _destination(
            customer.home_lat, customer.home_lon, distance_km, float(self.rng.uniform(0.0, 360.0))
        )
        return {
            "customer_id": customer.customer_id,
            "event_time": wall_clock.isoformat(timespec="milliseconds"),
            "amount": round(amount, 2),
            "merchant_category": category,
            "card_present": bool(card_present),
            "merchant_lat": round(merchant_lat, 5),
            "merchant_lon": round(merchant_lon, 5),
            "home_lat": round(customer.home_lat, 5),
            "home_lon": round(customer.home_lon, 5),
        }


def _destination(lat: float, lon: float, distance_km: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``distance_km`` from (lat, lon) along ``bearing_deg`` on a sphere."""
    radius = 6371.0088
    delta = distance_km / radius
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0


def _unique_times(rows: list[tuple[dict[str, Any], int]]) -> None:
    """Give a customer's transactions distinct event times (bump collisions by a millisecond)."""
    seen: set[datetime] = set()
    for raw, _ in sorted(rows, key=lambda r: datetime.fromisoformat(r[0]["event_time"])):
        moment = datetime.fromisoformat(raw["event_time"])
        while moment.astimezone(UTC) in seen:
            moment += timedelta(milliseconds=1)
        seen.add(moment.astimezone(UTC))
        raw["event_time"] = moment.isoformat(timespec="milliseconds")


def generate(config: SampleConfig) -> SampleData:
    """Simulate the configured population; deterministic in ``config``."""
    simulator = _Simulator(config)
    rows: list[tuple[dict[str, Any], int]] = []
    for customer in simulator.customers():
        customer_rows = simulator.transactions(customer)
        _unique_times(customer_rows)
        rows.extend(customer_rows)
    end = config.start + timedelta(days=config.days)
    rows = [r for r in rows if datetime.fromisoformat(r[0]["event_time"]) < end]
    rows.sort(key=lambda r: (datetime.fromisoformat(r[0]["event_time"]), r[0]["customer_id"]))
    labels_by_id: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    for index, (raw, label) in enumerate(rows):
        transaction_id = f"T{index:08d}"
        events.append({"transaction_id": transaction_id, **raw})
        labels_by_id[transaction_id] = label
    data = SampleData(config=config, events=events, labels=[])
    _add_feature_records(data, [parse_event(raw) for raw in events], labels_by_id, simulator.rng)
    return data


def _add_feature_records(
    data: SampleData, parsed: list[TransactionEvent], labels_by_id: dict[str, int], rng: np.random.Generator
) -> None:
    for group in FEATURE_GROUPS:
        data.records[group] = []
        data.system_columns[group] = []
    for event, records in batch_feature_records(parsed):
        data.labels.append(
            {
                "transaction_id": event.transaction_id,
                ENTITY_ID: event.customer_id,
                EVENT_TIME: format_event_time(event.event_time),
                LABEL: labels_by_id[event.transaction_id],
            }
        )
        for group, record in records.by_group().items():
            invoked = event.event_time + timedelta(milliseconds=int(rng.exponential(1500.0)))
            written = invoked + timedelta(seconds=float(rng.uniform(60.0, 900.0)))
            data.records[group].append(record)
            data.system_columns[group].append(
                {
                    "api_invocation_time": invoked.replace(tzinfo=None),
                    "write_time": written.replace(tzinfo=None, microsecond=written.microsecond // 1000 * 1000),
                    "is_deleted": False,
                }
            )


_ARROW_TYPES: dict[type, pa.DataType] = {float: pa.float64(), int: pa.int64(), str: pa.string()}


def offline_store_schema(group: str) -> pa.Schema:
    """The offline-store table of a feature group: id, event time, features, then the system columns."""
    fields = [pa.field(ENTITY_ID, pa.string()), pa.field(EVENT_TIME, pa.string())]
    fields += [pa.field(name, _ARROW_TYPES[FEATURE_TYPES[name]]) for name in FEATURE_GROUPS[group]]
    fields += [
        pa.field("api_invocation_time", pa.timestamp("ms")),
        pa.field("write_time", pa.timestamp("ms")),
        pa.field("is_deleted", pa.bool_()),
    ]
    return pa.schema(fields)


def offline_store_table(
    group: str, records: Sequence[FeatureRecord], system_columns: Sequence[dict[str, Any]]
) -> pa.Table:
    rows = [{**record, **system} for record, system in zip(records, system_columns, strict=True)]
    return pa.Table.from_pylist(rows, schema=offline_store_schema(group))


def labels_table(labels: Sequence[dict[str, Any]]) -> pa.Table:
    schema = pa.schema(
        [
            pa.field("transaction_id", pa.string()),
            pa.field(ENTITY_ID, pa.string()),
            pa.field(EVENT_TIME, pa.string()),
            pa.field(LABEL, pa.int64()),
        ]
    )
    return pa.Table.from_pylist(list(labels), schema=schema)


def write(data: SampleData, out_dir: Path) -> dict[str, Any]:
    """Write the sample data as parquet/JSONL under ``out_dir`` and return the summary it also writes."""
    for group, records in data.records.items():
        group_dir = out_dir / "feature_groups" / group
        group_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            offline_store_table(group, records, data.system_columns[group]), group_dir / "part-00000.parquet"
        )
    (out_dir / "labels").mkdir(parents=True, exist_ok=True)
    pq.write_table(labels_table(data.labels), out_dir / "labels" / "labels.parquet")
    (out_dir / "raw").mkdir(parents=True, exist_ok=True)
    with (out_dir / "raw" / "events.jsonl").open("w", encoding="utf-8") as handle:
        for event in data.events:
            handle.write(json.dumps(event, sort_keys=True) + "\n")
    summary = {
        "config": {**asdict(data.config), "start": format_event_time(data.config.start)},
        # Train on labels from here on: earlier rows are the feature history (``history_days``).
        "window_start": format_event_time(data.config.start),
        "transactions": len(data.events),
        "frauds": sum(row[LABEL] for row in data.labels),
        "fraud_rate": round(data.fraud_rate, 5),
        "feature_groups": {group: len(records) for group, records in data.records.items()},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sample_data", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default="2024-01-01T00:00:00Z", help="first day (ISO-8601, UTC)")
    parser.add_argument(
        "--history-days", type=int, default=SampleConfig.history_days, help="days of activity before --start"
    )
    parser.add_argument("--covariate-drift", type=float, default=0.0, help="0 = none .. 1 = strong")
    parser.add_argument("--concept-drift", action="store_true", help="fraud moves to card-present daytime")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = SampleConfig(
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            start=datetime.fromisoformat(args.start),
            history_days=args.history_days,
            covariate_drift=args.covariate_drift,
            concept_drift=args.concept_drift,
        )
    except ValueError as error:
        parser.error(str(error))
    summary = write(generate(config), args.out)
    print(json.dumps({k: summary[k] for k in ("transactions", "frauds", "fraud_rate")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

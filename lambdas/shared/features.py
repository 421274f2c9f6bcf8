"""Card-transaction features for the fraud-detection model: the one place they are computed.

Every path that needs a feature value goes through this module: the ingestion Lambda (raw event -> PutRecord
into both feature groups), the sample-data generator and local runs (batch over a sorted stream), the
pipeline's preprocessing step and the serving path (feature record -> model input vector). It is pure
standard-library Python so it ships inside a Lambda function as it is.

Raw event (one card transaction; a JSON object or any ``Mapping[str, object]``)
-------------------------------------------------------------------------------
=========================  ===========================================================================
``transaction_id``         non-empty string, unique per transaction
``customer_id``            non-empty string, the entity (record identifier of both feature groups)
``event_time``             ISO-8601 timestamp WITH an offset (``Z`` or ``+hh:mm``); normalised to UTC
                           and truncated to milliseconds
``amount``                 number (or numeric string) >= 0, rounded to cents
``merchant_category``      non-empty string, normalised to lower case; values outside the spec's
                           categories are kept and encoded as ``UNKNOWN_CATEGORY_CODE``
``card_present``           bool, 0/1, or "true"/"false"/"0"/"1"
``distance_from_home_km``  number >= 0; optional if all four coordinates below are given
``merchant_lat``, ``merchant_lon``, ``home_lat``, ``home_lon``
                           degrees; used (great-circle distance) when no distance is given
``utc_offset_minutes``     optional int in [-720, 840], the merchant's local offset from UTC; defaults to
                           the offset written in ``event_time``. ``hour_of_day`` is the local hour
=========================  ===========================================================================

A field that is missing or wrong raises ``MalformedEvent`` naming the field.

Feature records
---------------
Each transaction yields one record per feature group, keyed by ``customer_id`` and stamped with the
transaction's ``event_time`` (``YYYY-MM-DDTHH:MM:SS.mmmZ``: a Feature Store String event time, fixed width so
text order is time order):

- ``transaction``: ``amount``, ``merchant_category``, ``hour_of_day``, ``card_present``,
  ``distance_from_home_km``;
- ``customer-spend``: ``spend_{1d,7d,30d}``, ``count_{1d,7d,30d}``, ``amount_to_avg_30d``.

Rolling windows are half-open, ``(t - window, t]``, over the customer's transactions in
``(event_time, transaction_id)`` order: they include the current transaction and only those ordered before
it, never a later one. Sums use ``math.fsum`` (exactly rounded, so independent of the order items were
added), which makes the batch and single-event paths produce identical records.

Model input
-----------
``to_model_input(record, feature_names, categories)`` turns a merged feature record into the numeric vector
the model takes, in the order given (the spec's ``feature_names``); categorical features are encoded by their
index in the spec's append-only list of categories (``categories``: the spec's ``category_vocabularies``, for
any model). Training (the preprocessing step) and serving both call it with the spec's order and categories,
so they cannot disagree on column order or encoding.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FeatureValue = str | int | float
FeatureRecord = dict[str, FeatureValue]
PutRecordItem = dict[str, str]

ENTITY_ID = "customer_id"
EVENT_TIME = "event_time"

TRANSACTION_GROUP = "transaction"
CUSTOMER_SPEND_GROUP = "customer-spend"

TRANSACTION_FEATURES: tuple[str, ...] = (
    "amount",
    "merchant_category",
    "hour_of_day",
    "card_present",
    "distance_from_home_km",
)
CUSTOMER_SPEND_FEATURES: tuple[str, ...] = (
    "spend_1d",
    "spend_7d",
    "spend_30d",
    "count_1d",
    "count_7d",
    "count_30d",
    "amount_to_avg_30d",
)
FEATURE_GROUPS: Mapping[str, tuple[str, ...]] = {
    TRANSACTION_GROUP: TRANSACTION_FEATURES,
    CUSTOMER_SPEND_GROUP: CUSTOMER_SPEND_FEATURES,
}

# Python type of every feature (Feature Store: float = Fractional, int = Integral, str = String).
FEATURE_TYPES: Mapping[str, type[float] | type[int] | type[str]] = {
    "amount": float,
    "merchant_category": str,
    "hour_of_day": int,
    "card_present": int,
    "distance_from_home_km": float,
    "spend_1d": float,
    "spend_7d": float,
    "spend_30d": float,
    "count_1d": int,
    "count_7d": int,
    "count_30d": int,
    "amount_to_avg_30d": float,
}

# The code of a categorical value outside the spec's categories (known ones are their index there).
UNKNOWN_CATEGORY_CODE = -1

WINDOWS: Mapping[str, timedelta] = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
HISTORY = max(WINDOWS.values())

_EARTH_RADIUS_KM = 6371.0088
_MIN_UTC_OFFSET_MINUTES = -12 * 60
_MAX_UTC_OFFSET_MINUTES = 14 * 60
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


# ---- errors ----


class MalformedEvent(ValueError):  # noqa: N818 - named by what it is, as the callers catch it
    """A raw event is missing a field or has a wrong value; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"malformed event: {field}: {problem}")
        self.field = field
        self.problem = problem


class OutOfOrderEvent(ValueError):  # noqa: N818 - same convention as MalformedEvent
    """A transaction given to a rolling window is not after the customer's latest one."""


class FeatureInputError(ValueError):
    """A feature record cannot be turned into a model input or a Feature Store record; names the feature."""

    def __init__(self, feature: str, problem: str) -> None:
        super().__init__(f"feature '{feature}': {problem}")
        self.feature = feature


# ---- raw events ----


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionEvent:
    """One parsed card transaction. ``event_time`` is UTC with millisecond precision."""

    transaction_id: str
    customer_id: str
    event_time: datetime
    amount: float
    merchant_category: str
    card_present: bool
    distance_from_home_km: float
    utc_offset_minutes: int = 0

    @property
    def order_key(self) -> tuple[datetime, str]:
        """The total order of a customer's transactions: time, then id for transactions at the same time."""
        return (self.event_time, self.transaction_id)


def parse_event(raw: Mapping[str, object]) -> TransactionEvent:
    """Validate and normalise one raw transaction event (schema in the module docstring)."""
    if not isinstance(raw, Mapping):
        raise MalformedEvent("<event>", f"expected an object, got {type(raw).__name__}")
    event_time_text = _text(raw, "event_time")
    event_time = parse_event_time(event_time_text, field="event_time")
    return TransactionEvent(
        transaction_id=_text(raw, "transaction_id"),
        customer_id=_text(raw, "customer_id"),
        event_time=event_time,
        amount=round(_number(raw, "amount", minimum=0.0), 2),
        merchant_category=_text(raw, "merchant_category").lower(),
        card_present=_flag(raw, "card_present"),
        distance_from_home_km=_distance_km(raw),
        utc_offset_minutes=_utc_offset(raw, default=_offset_minutes(event_time_text)),
    )


def parse_event_time(text: str, *, field: str = EVENT_TIME) -> datetime:
    """Parse an ISO-8601 timestamp with an offset into UTC, truncated to milliseconds."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedEvent(field, f"'{text}' is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise MalformedEvent(field, f"'{text}' has no UTC offset (add 'Z' or '+00:00')")
    utc = parsed.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def format_event_time(moment: datetime) -> str:
    """The Feature Store event-time string: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _text(raw: Mapping[str, object], field: str) -> str:
    value = raw.get(field)
    if value is None:
        raise MalformedEvent(field, "missing")
    if not isinstance(value, str):
        raise MalformedEvent(field, f"expected a string, got {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise MalformedEvent(field, "empty")
    return stripped


def _number(
    raw: Mapping[str, object], field: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    value = raw.get(field)
    if value is None:
        raise MalformedEvent(field, "missing")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedEvent(field, f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise MalformedEvent(field, f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise MalformedEvent(field, f"{value!r} is not finite")
    if minimum is not None and number < minimum:
        raise MalformedEvent(field, f"{number} is below {minimum}")
    if maximum is not None and number > maximum:
        raise MalformedEvent(field, f"{number} is above {maximum}")
    return number


def _flag(raw: Mapping[str, object], field: str) -> bool:
    value = raw.get(field)
    if value is None:
        raise MalformedEvent(field, "missing")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise MalformedEvent(field, f"expected a boolean (true/false or 0/1), got {value!r}")


def _distance_km(raw: Mapping[str, object]) -> float:
    if raw.get("distance_from_home_km") is not None:
        return round(_number(raw, "distance_from_home_km", minimum=0.0), 3)
    coordinates = ("merchant_lat", "merchant_lon", "home_lat", "home_lon")
    missing = [name for name in coordinates if raw.get(name) is None]
    if missing:
        raise MalformedEvent("distance_from_home_km", f"missing, and so are {', '.join(missing)} to compute it from")
    merchant_lat = _number(raw, "merchant_lat", minimum=-90.0, maximum=90.0)
    merchant_lon = _number(raw, "merchant_lon", minimum=-180.0, maximum=180.0)
    home_lat = _number(raw, "home_lat", minimum=-90.0, maximum=90.0)
    home_lon = _number(raw, "home_lon", minimum=-180.0, maximum=180.0)
    return round(haversine_km(home_lat, home_lon, merchant_lat, merchant_lon), 3)


def _offset_minutes(event_time_text: str) -> int:
    """The UTC offset written in an (already validated) ISO-8601 timestamp, in minutes."""
    offset = datetime.fromisoformat(event_time_text).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _utc_offset(raw: Mapping[str, object], *, default: int) -> int:
    if raw.get("utc_offset_minutes") is None:
        return default
    offset = _number(raw, "utc_offset_minutes", minimum=_MIN_UTC_OFFSET_MINUTES, maximum=_MAX_UTC_OFFSET_MINUTES)
    if not offset.is_integer():
        raise MalformedEvent("utc_offset_minutes", f"{offset} is not a whole number of minutes")
    return int(offset)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# ---- feature records ----


@dataclass(frozen=True, slots=True)
class FeatureRecords:
    """The records one transaction writes: one per feature group."""

    transaction: FeatureRecord
    customer_spend: FeatureRecord

    def by_group(self) -> dict[str, FeatureRecord]:
        return {TRANSACTION_GROUP: self.transaction, CUSTOMER_SPEND_GROUP: self.customer_spend}

    def merged(self) -> FeatureRecord:
        """All features of the transaction in one record (what the model input is built from)."""
        return {**self.transaction, **self.customer_spend}


def transaction_record(event: TransactionEvent) -> FeatureRecord:
    """The ``transaction`` group record: the transaction's own context."""
    local_time = event.event_time + timedelta(minutes=event.utc_offset_minutes)
    return {
        ENTITY_ID: event.customer_id,
        EVENT_TIME: format_event_time(event.event_time),
        "amount": event.amount,
        "merchant_category": event.merchant_category,
        "hour_of_day": local_time.hour,
        "card_present": int(event.card_present),
        "distance_from_home_km": event.distance_from_home_km,
    }


class CustomerWindow:
    """One customer's last 30 days of transactions, fed in ``order_key`` order.

    ``add`` returns the ``customer-spend`` record of the transaction it is given; ``seed`` loads history
    without computing records (the single-event path). Memory is bounded by the 30-day history.
    """

    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self._items: deque[tuple[tuple[datetime, str], float]] = deque()

    @property
    def latest_key(self) -> tuple[datetime, str] | None:
        return self._items[-1][0] if self._items else None

    def seed(self, event: TransactionEvent) -> None:
        """Append a past transaction to the window (no record is computed)."""
        if event.customer_id != self.customer_id:
            raise ValueError(
                f"transaction {event.transaction_id} is for customer {event.customer_id}, not {self.customer_id}"
            )
        latest = self.latest_key
        if latest is not None and event.order_key <= latest:
            raise OutOfOrderEvent(
                f"transaction {event.transaction_id} at {format_event_time(event.event_time)} is not after "
                f"customer {self.customer_id}'s latest transaction {latest[1]} at {format_event_time(latest[0])}"
            )
        self._items.append((event.order_key, event.amount))
        horizon = event.event_time - HISTORY
        while self._items and self._items[0][0][0] <= horizon:
            self._items.popleft()

    def add(self, event: TransactionEvent) -> FeatureRecord:
        """Append a transaction and return its ``customer-spend`` record (windows include it)."""
        self.seed(event)
        return self._spend_record(event)

    def _spend_record(self, event: TransactionEvent) -> FeatureRecord:
        record: FeatureRecord = {ENTITY_ID: event.customer_id, EVENT_TIME: format_event_time(event.event_time)}
        spends: dict[str, float] = {}
        counts: dict[str, int] = {}
        for label, width in WINDOWS.items():
            start = event.event_time - width
            amounts = [amount for (moment, _), amount in reversed(self._items) if moment > start]
            spends[label] = math.fsum(amounts)
            counts[label] = len(amounts)
        for label in WINDOWS:
            record[f"spend_{label}"] = round(spends[label], 2)
        for label in WINDOWS:
            record[f"count_{label}"] = counts[label]
        average = spends["30d"] / counts["30d"]
        record["amount_to_avg_30d"] = round(event.amount / average, 4) if average > 0 else 1.0
        return record


class RollingAggregator:
    """Per-customer rolling state over a stream of transactions in time order (the batch path)."""

    def __init__(self) -> None:
        self._windows: dict[str, CustomerWindow] = {}

    def add(self, event: TransactionEvent) -> FeatureRecords:
        window = self._windows.get(event.customer_id)
        if window is None:
            window = self._windows[event.customer_id] = CustomerWindow(event.customer_id)
        return FeatureRecords(transaction=transaction_record(event), customer_spend=window.add(event))


def batch_feature_records(events: Iterable[TransactionEvent]) -> Iterator[tuple[TransactionEvent, FeatureRecords]]:
    """Records for every event, computed over the events sorted by ``order_key`` (yielded in that order)."""
    aggregator = RollingAggregator()
    for event in sorted(events, key=lambda e: e.order_key):
        yield event, aggregator.add(event)


def features_for_event(event: TransactionEvent, history: Iterable[TransactionEvent]) -> FeatureRecords:
    """Records for one event given the customer's recent transactions (the ingestion path).

    ``history`` may hold anything: only the same customer's transactions ordered before ``event`` and inside
    the longest window are used, so a late or duplicate delivery cannot leak later transactions in.
    """
    horizon = event.event_time - HISTORY
    past = sorted(
        (
            h
            for h in history
            if h.customer_id == event.customer_id and h.order_key < event.order_key and h.event_time > horizon
        ),
        key=lambda h: h.order_key,
    )
    window = CustomerWindow(event.customer_id)
    for earlier in past:
        window.seed(earlier)
    return FeatureRecords(transaction=transaction_record(event), customer_spend=window.add(event))


# ---- Feature Store records ----


def format_feature_value(name: str, value: FeatureValue) -> str:
    """A feature value as Feature Store's ``ValueAsString``."""
    if isinstance(value, bool):
        raise FeatureInputError(name, "booleans are not a Feature Store type; use 0/1")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FeatureInputError(name, f"{value} is not finite")
        return repr(value)
    return str(value)


def to_put_record(record: Mapping[str, FeatureValue | None]) -> list[PutRecordItem]:
    """The ``Record`` argument of ``PutRecord``; features whose value is None are left out (unset)."""
    for required in (ENTITY_ID, EVENT_TIME):
        if record.get(required) is None:
            raise FeatureInputError(required, "missing: every record needs the entity id and event time")
    return [
        {"FeatureName": name, "ValueAsString": format_feature_value(name, value)}
        for name, value in record.items()
        if value is not None
    ]


def from_feature_store_record(items: Iterable[Mapping[str, str]]) -> FeatureRecord:
    """Parse a ``GetRecord``/``PutRecord`` record back into typed values (unknown names stay strings)."""
    record: FeatureRecord = {}
    for item in items:
        name, text = item["FeatureName"], item["ValueAsString"]
        kind = FEATURE_TYPES.get(name, str)
        try:
            record[name] = kind(text)
        except ValueError:
            raise FeatureInputError(name, f"'{text}' is not a valid {kind.__name__}") from None
    return record


# ---- model input ----


def encode_category(value: str, vocabulary: Sequence[str]) -> int:
    """Index of ``value`` in the vocabulary; ``UNKNOWN_CATEGORY_CODE`` for a value outside it."""
    normalised = value.strip().lower()
    return vocabulary.index(normalised) if normalised in vocabulary else UNKNOWN_CATEGORY_CODE


def to_model_input(
    record: Mapping[str, FeatureValue | None],
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
) -> list[float]:
    """The model's input vector: one number per name in ``feature_names``, in that order.

    Categorical features (those in ``categories``, the spec's ``category_vocabularies``) become their index
    in their categories; numeric features may be
    numbers or numeric strings (as the online store returns them). Missing or non-numeric values raise
    ``FeatureInputError`` naming the feature.
    """
    vector: list[float] = []
    for name in feature_names:
        value = record.get(name)
        if value is None:
            raise FeatureInputError(name, "missing from the feature record")
        if name in categories:
            vector.append(float(encode_category(str(value), categories[name])))
        else:
            vector.append(_numeric(name, value))
    return vector


def _numeric(name: str, value: FeatureValue) -> float:
    if isinstance(value, bool):
        raise FeatureInputError(name, "expected a number, got a boolean")
    try:
        number = float(value)
    except ValueError:
        raise FeatureInputError(name, f"expected a number, got '{value}'") from None
    if not math.isfinite(number):
        raise FeatureInputError(name, f"{value!r} is not finite")
    return number


def format_csv_row(vector: Iterable[float]) -> str:
    """One CSV line (no newline) of a model input, as built-in XGBoost reads it at training and serving."""
    return ",".join(str(int(v)) if v.is_integer() else repr(v) for v in map(float, vector))

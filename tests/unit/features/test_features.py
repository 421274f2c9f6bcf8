"""lambdas/shared/features.py: the one place features are computed, for ingestion, training and serving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config import FRAUD_DETECTION, FeatureType
from lambdas.shared.features import (
    ENTITY_ID,
    EVENT_TIME,
    FEATURE_GROUPS,
    FEATURE_TYPES,
    UNKNOWN_CATEGORY_CODE,
    CustomerWindow,
    FeatureInputError,
    MalformedEvent,
    OutOfOrderEvent,
    TransactionEvent,
    batch_feature_records,
    features_for_event,
    format_csv_row,
    from_feature_store_record,
    parse_event,
    to_model_input,
    to_put_record,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
# The example model's categories: what training and serving encode a categorical feature with.
CATEGORIES = FRAUD_DETECTION.category_vocabularies


def raw_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "transaction_id": "T1",
        "customer_id": "C1",
        "event_time": "2024-03-01T12:00:00Z",
        "amount": 42.5,
        "merchant_category": "grocery",
        "card_present": True,
        "distance_from_home_km": 3.2,
    }
    event.update(overrides)
    return event


def txn(transaction_id: str, at: datetime, amount: float, customer: str = "C1") -> TransactionEvent:
    return TransactionEvent(
        transaction_id=transaction_id,
        customer_id=customer,
        event_time=at,
        amount=amount,
        merchant_category="grocery",
        card_present=True,
        distance_from_home_km=1.0,
    )


def spend_by_id(events: list[TransactionEvent]) -> dict[str, dict[str, Any]]:
    return {event.transaction_id: records.customer_spend for event, records in batch_feature_records(events)}


# ---- the spec is the contract ----


@pytest.mark.parametrize("group", [g.name for g in FRAUD_DETECTION.feature_groups])
def test_records_carry_exactly_the_spec_features_of_each_group(group: str) -> None:
    records = features_for_event(parse_event(raw_event()), history=[]).by_group()[group]

    spec_names = tuple(f.name for f in FRAUD_DETECTION.features_of(group))
    assert FEATURE_GROUPS[group] == spec_names
    assert tuple(k for k in records if k not in (ENTITY_ID, EVENT_TIME)) == spec_names
    assert records[FRAUD_DETECTION.entity_id] == "C1"
    assert records[FRAUD_DETECTION.event_time] == "2024-03-01T12:00:00.000Z"


def test_feature_value_types_match_the_spec_feature_types() -> None:
    python_type = {FeatureType.FRACTIONAL: float, FeatureType.INTEGRAL: int, FeatureType.STRING: str}
    records = features_for_event(parse_event(raw_event()), history=[]).merged()

    for feature in FRAUD_DETECTION.features:
        assert FEATURE_TYPES[feature.name] is python_type[feature.type], feature.name
        assert type(records[feature.name]) is python_type[feature.type], feature.name


def test_every_categorical_spec_feature_lists_its_categories() -> None:
    categorical = {f.name for f in FRAUD_DETECTION.features if f.is_categorical}
    assert categorical == set(CATEGORIES)
    assert all(CATEGORIES.values())


# ---- raw event parsing ----


def test_parse_normalises_time_to_utc_and_takes_local_hour_from_the_offset() -> None:
    event = parse_event(raw_event(event_time="2024-03-01T23:30:15.123456-05:00", merchant_category=" Travel "))
    records = features_for_event(event, history=[])

    assert event.event_time == datetime(2024, 3, 2, 4, 30, 15, 123000, tzinfo=UTC)
    assert records.transaction[EVENT_TIME] == "2024-03-02T04:30:15.123Z"
    assert records.transaction["hour_of_day"] == 23
    assert records.transaction["merchant_category"] == "travel"


def test_explicit_utc_offset_overrides_the_timestamp_offset() -> None:
    event = parse_event(raw_event(event_time="2024-03-01T12:00:00Z", utc_offset_minutes=120))
    assert features_for_event(event, history=[]).transaction["hour_of_day"] == 14


def test_distance_is_computed_from_coordinates_when_not_given() -> None:
    raw = raw_event(merchant_lat=48.8566, merchant_lon=2.3522, home_lat=51.5074, home_lon=-0.1278)
    del raw["distance_from_home_km"]

    assert parse_event(raw).distance_from_home_km == pytest.approx(343.5, abs=1.0)  # Paris - London


def test_card_present_accepts_booleans_numbers_and_words() -> None:
    assert parse_event(raw_event(card_present="false")).card_present is False
    assert parse_event(raw_event(card_present=1)).card_present is True


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"transaction_id": None}, "transaction_id", "missing"),
        ({"customer_id": "  "}, "customer_id", "empty"),
        ({"customer_id": 7}, "customer_id", "expected a string"),
        ({"event_time": "yesterday"}, "event_time", "not an ISO-8601"),
        ({"event_time": "2024-03-01T12:00:00"}, "event_time", "no UTC offset"),
        ({"amount": "abc"}, "amount", "not a number"),
        ({"amount": -1}, "amount", "below"),
        ({"amount": True}, "amount", "expected a number"),
        ({"amount": float("nan")}, "amount", "not finite"),
        ({"card_present": "maybe"}, "card_present", "expected a boolean"),
        ({"distance_from_home_km": None}, "distance_from_home_km", "merchant_lat"),
        ({"utc_offset_minutes": 30.5}, "utc_offset_minutes", "whole number"),
    ],
)
def test_malformed_events_name_the_bad_field(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message) as caught:
        parse_event(raw_event(**overrides))
    assert caught.value.field == field
    assert field in str(caught.value)


def test_out_of_range_coordinates_are_rejected() -> None:
    raw = raw_event(merchant_lat=91.0, merchant_lon=0.0, home_lat=0.0, home_lon=0.0)
    del raw["distance_from_home_km"]
    with pytest.raises(MalformedEvent) as caught:
        parse_event(raw)
    assert caught.value.field == "merchant_lat"


# ---- rolling windows ----


def test_windows_are_half_open_and_include_the_current_transaction() -> None:
    events = [
        txn("a", T0, 10.0),
        txn("b", T0 + timedelta(hours=12), 20.0),
        txn("c", T0 + timedelta(days=1), 30.0),  # exactly one day after "a": "a" leaves the 1-day window
        txn("d", T0 + timedelta(days=10), 40.0),
        txn("e", T0 + timedelta(days=40), 50.0),  # everything else is older than 30 days
    ]
    spend = spend_by_id(events)

    assert (spend["a"]["count_1d"], spend["a"]["spend_1d"]) == (1, 10.0)
    assert (spend["c"]["count_1d"], spend["c"]["spend_1d"]) == (2, 50.0)
    assert (spend["c"]["count_7d"], spend["c"]["spend_7d"]) == (3, 60.0)
    assert (spend["d"]["count_1d"], spend["d"]["count_7d"], spend["d"]["count_30d"]) == (1, 1, 4)
    assert spend["d"]["spend_30d"] == 100.0
    assert spend["d"]["amount_to_avg_30d"] == pytest.approx(40.0 / 25.0)
    assert (spend["e"]["count_30d"], spend["e"]["spend_30d"], spend["e"]["amount_to_avg_30d"]) == (1, 50.0, 1.0)


def test_later_transactions_never_change_an_earlier_record() -> None:
    early = [txn("a", T0, 10.0), txn("b", T0 + timedelta(hours=1), 20.0)]
    later = [txn("c", T0 + timedelta(hours=2), 1000.0), txn("d", T0 + timedelta(hours=3), 5000.0)]

    assert spend_by_id(early)["b"] == spend_by_id(early + later)["b"]
    assert spend_by_id(early + later)["b"]["spend_1d"] == 30.0


def test_customers_have_independent_windows() -> None:
    spend = spend_by_id([txn("a", T0, 10.0, customer="C1"), txn("b", T0 + timedelta(minutes=1), 99.0, customer="C2")])
    assert spend["b"]["count_1d"] == 1
    assert spend["b"]["spend_1d"] == 99.0


def test_transactions_at_the_same_time_are_ordered_by_id() -> None:
    spend = spend_by_id([txn("b", T0, 20.0), txn("a", T0, 10.0)])
    assert spend["a"]["count_1d"] == 1
    assert spend["b"]["count_1d"] == 2


def test_window_refuses_an_out_of_order_or_duplicate_transaction() -> None:
    window = CustomerWindow("C1")
    window.add(txn("b", T0 + timedelta(hours=1), 20.0))
    with pytest.raises(OutOfOrderEvent, match="not after"):
        window.add(txn("a", T0, 10.0))
    with pytest.raises(OutOfOrderEvent):
        window.add(txn("b", T0 + timedelta(hours=1), 20.0))


def test_single_event_records_equal_batch_records(sample_events: list[TransactionEvent]) -> None:
    batch = {event.transaction_id: records for event, records in batch_feature_records(sample_events)}

    # The whole stream, later transactions included, is offered as history: only the past may be used.
    for event in sample_events:
        assert features_for_event(event, sample_events) == batch[event.transaction_id], event.transaction_id


# ---- Feature Store records ----


def test_put_record_shape_round_trips_through_feature_store_strings() -> None:
    records = features_for_event(parse_event(raw_event(amount=12.3)), history=[])

    put = to_put_record(records.transaction)

    assert put[0] == {"FeatureName": "customer_id", "ValueAsString": "C1"}
    assert {"FeatureName": "amount", "ValueAsString": "12.3"} in put
    assert all(set(item) == {"FeatureName", "ValueAsString"} and isinstance(item["ValueAsString"], str) for item in put)
    assert from_feature_store_record(put) == records.transaction


def test_put_record_leaves_out_unset_features_and_requires_the_keys() -> None:
    assert to_put_record({ENTITY_ID: "C1", EVENT_TIME: "2024-03-01T12:00:00.000Z", "amount": None}) == [
        {"FeatureName": ENTITY_ID, "ValueAsString": "C1"},
        {"FeatureName": EVENT_TIME, "ValueAsString": "2024-03-01T12:00:00.000Z"},
    ]
    with pytest.raises(FeatureInputError, match="event_time"):
        to_put_record({ENTITY_ID: "C1", "amount": 1.0})


# ---- model input ----


def test_model_input_follows_the_given_order_and_encodes_categories() -> None:
    record = features_for_event(parse_event(raw_event(merchant_category="travel")), history=[]).merged()

    vector = to_model_input(record, FRAUD_DETECTION.feature_names, CATEGORIES)
    reordered = to_model_input(record, tuple(reversed(FRAUD_DETECTION.feature_names)), CATEGORIES)

    assert len(vector) == len(FRAUD_DETECTION.feature_names)
    travel = CATEGORIES["merchant_category"].index("travel")
    assert vector[FRAUD_DETECTION.feature_names.index("merchant_category")] == travel
    assert vector[FRAUD_DETECTION.feature_names.index("amount")] == 42.5
    assert reordered == list(reversed(vector))


def test_model_input_from_online_store_strings_equals_input_from_typed_values() -> None:
    record = features_for_event(parse_event(raw_event()), history=[]).merged()
    as_strings = {name: str(value) for name, value in record.items()}

    assert to_model_input(as_strings, FRAUD_DETECTION.feature_names, CATEGORIES) == to_model_input(
        record, FRAUD_DETECTION.feature_names, CATEGORIES
    )


def test_unknown_category_gets_the_reserved_code() -> None:
    record = features_for_event(parse_event(raw_event(merchant_category="casino")), history=[]).merged()
    vector = to_model_input(record, ["merchant_category"], CATEGORIES)
    assert vector == [float(UNKNOWN_CATEGORY_CODE)]


@pytest.mark.parametrize(
    ("record", "message"),
    [({"hour_of_day": 3}, "'amount': missing"), ({"amount": "n/a", "hour_of_day": 3}, "'amount': expected a number")],
)
def test_model_input_names_the_feature_it_cannot_use(record: dict[str, Any], message: str) -> None:
    with pytest.raises(FeatureInputError, match=message):
        to_model_input(record, ["amount", "hour_of_day"], CATEGORIES)


def test_csv_row_writes_whole_numbers_without_a_decimal_point() -> None:
    assert format_csv_row([1.0, 0.25, 12.0, -1.0]) == "1,0.25,12,-1"

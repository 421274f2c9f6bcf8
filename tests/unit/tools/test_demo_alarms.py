"""The alarm emulator's judgement, case by case: statistics, missing data, M of N, composite rules.

The integration tests (tests/integration/demo/test_alarms.py) run it over deployed alarms and published metrics;
these pin the CloudWatch semantics it emulates (docs/aws-facts.md#alarm-evaluation).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tools.demo.emulators.alarms import (
    ALARM,
    INSUFFICIENT,
    OK,
    Datapoint,
    NotEmulated,
    Sample,
    decide,
    parse_rule,
    periods,
    statistic,
)

NOW = datetime(2026, 3, 2, 12, 7, 30, tzinfo=UTC)


def alarm(**overrides: Any) -> dict[str, Any]:
    """The serving stack's model-error alarm: Average > 0.01 over 2 periods of 5 minutes, missing not breaching."""
    return {
        "AlarmName": "fraud-detection-dev-primary-model-error-rate",
        "Namespace": "AWS/SageMaker",
        "MetricName": "InvocationModelErrors",
        "Statistic": "Average",
        "Period": 300,
        "EvaluationPeriods": 2,
        "Threshold": 0.01,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        **overrides,
    }


def points(*values: float | None, samples: int = 10, low: bool = False) -> list[Datapoint]:
    """Datapoints newest first, one period apart, ending with the period that holds NOW."""
    starts = periods(NOW, 300, len(values))
    return [Datapoint(s, v, 0 if v is None else samples, low) for s, v in zip(starts, values, strict=True)]


def test_periods_are_aligned_to_the_period_and_end_with_the_one_holding_now() -> None:
    assert periods(NOW, 300, 3) == [
        datetime(2026, 3, 2, 12, 5, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 11, 55, tzinfo=UTC),
    ]
    assert periods(NOW, 3600, 1) == [datetime(2026, 3, 2, 12, 0, tzinfo=UTC)]


def test_statistics_of_raw_values_and_statistic_sets() -> None:
    values = [Sample.value(float(v)) for v in range(1, 101)]
    assert statistic(values, "p99") == 99.0
    assert statistic(values, "p50") == 50.0
    assert statistic(values, "p100") == 100.0
    assert statistic(values, "Average") == 50.5
    assert statistic([Sample(4, 10.0, 1.0, 4.0), Sample.value(6.0)], "Sum") == 16.0
    assert statistic([Sample(4, 10.0, 1.0, 4.0), Sample.value(6.0)], "SampleCount") == 5.0
    assert statistic([Sample(4, 10.0, 1.0, 4.0)], "p90") is None  # no percentile over a statistic set
    assert statistic([Sample.value(-1.0), Sample.value(2.0)], "p50") is None  # nor over negative values
    assert statistic([], "Maximum") is None
    with pytest.raises(NotEmulated):
        statistic(values, "tm90")


def test_one_breaching_period_of_two_is_not_enough_when_missing_data_is_not_breaching() -> None:
    """2 of 2 periods of 5 minutes: a failure that started this period cannot alarm before the next one."""
    verdict = decide(alarm(), points(0.5, None, None, None), current=INSUFFICIENT, now=NOW)
    assert verdict.state == OK
    assert "1 out of the last 1 datapoints" in verdict.reason
    assert "1 missing datapoint(s) were treated as [notBreaching]" in verdict.reason


def test_two_breaching_periods_alarm_with_the_datapoints_in_the_reason() -> None:
    verdict = decide(alarm(), points(0.5, 0.2, None, None), current=OK, now=NOW)
    assert verdict.state == ALARM
    assert verdict.reason.startswith("Threshold Crossed: 2 out of the last 2 datapoints [0.5 (02/03/26 12:05:00)")
    assert "were greater than the threshold (0.01)" in verdict.reason
    assert verdict.data["recentDatapoints"] == [0.2, 0.5]
    assert verdict.data["statistic"] == "Average"
    assert verdict.data["period"] == 300


def test_missing_data_treatments_with_no_data_at_all() -> None:
    empty = points(None, None, None, None)
    assert decide(alarm(TreatMissingData="missing"), empty, current=OK, now=NOW).state == INSUFFICIENT
    assert decide(alarm(), empty, current=ALARM, now=NOW).state == OK  # notBreaching
    assert decide(alarm(TreatMissingData="breaching"), empty, current=OK, now=NOW).state == ALARM
    assert decide(alarm(TreatMissingData="ignore"), empty, current=ALARM, now=NOW).state == ALARM
    assert decide(alarm(TreatMissingData=None), empty, current=OK, now=NOW).state == INSUFFICIENT  # the default


def test_with_enough_real_datapoints_the_newest_are_judged_and_gaps_play_no_part() -> None:
    # newest period empty, then two breaching ones: the two real ones are judged, whatever the treatment
    for treatment in ("breaching", "notBreaching", "missing", "ignore"):
        verdict = decide(alarm(TreatMissingData=treatment), points(None, 0.5, 0.3, 0.0), current=OK, now=NOW)
        assert verdict.state == ALARM, treatment


def test_missing_datapoints_treated_as_breaching_complete_a_breach() -> None:
    assert (
        decide(alarm(TreatMissingData="breaching"), points(0.5, None, None, None), current=OK, now=NOW).state == ALARM
    )
    assert decide(alarm(TreatMissingData="breaching"), points(0.0, None, None, None), current=OK, now=NOW).state == OK


def test_m_out_of_n() -> None:
    two_of_three = alarm(EvaluationPeriods=3, DatapointsToAlarm=2)
    assert decide(two_of_three, points(0.5, 0.0, 0.5, None, None), current=OK, now=NOW).state == ALARM
    assert decide(two_of_three, points(0.5, 0.0, 0.0, None, None), current=ALARM, now=NOW).state == OK


def test_a_low_sample_percentile_keeps_the_state_only_when_told_to_ignore_it() -> None:
    p99 = alarm(Statistic=None, ExtendedStatistic="p99", Threshold=200_000.0, EvaluationPeriods=1)
    few = points(900_000.0, None, None, samples=5, low=True)
    assert decide(p99, few, current=OK, now=NOW).state == ALARM
    assert decide({**p99, "EvaluateLowSampleCountPercentile": "ignore"}, few, current=OK, now=NOW).state == OK
    assert decide(p99, few, current=OK, now=NOW).data["extendedStatistic"] == "p99"


def test_anomaly_detection_comparisons_are_not_emulated() -> None:
    with pytest.raises(NotEmulated):
        decide(alarm(ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold"), points(1.0), current=OK, now=NOW)


def test_a_cdk_any_of_rule_reads_alarm_arns() -> None:
    arn = "arn:aws:cloudwatch:us-east-1:111111111111:alarm:"
    rule, names = parse_rule(f'(ALARM("{arn}drift-amount") OR ALARM("{arn}drift-hour"))')
    assert names == {"drift-amount", "drift-hour"}
    assert rule({"drift-amount": OK, "drift-hour": ALARM})
    assert not rule({"drift-amount": OK, "drift-hour": INSUFFICIENT})


def test_rule_precedence_is_not_then_and_then_or() -> None:
    rule, _ = parse_rule("ALARM(a) OR ALARM(b) AND NOT OK(c)")
    assert rule({"a": ALARM, "b": OK, "c": OK})
    assert not rule({"a": OK, "b": ALARM, "c": OK})
    assert rule({"a": OK, "b": ALARM, "c": ALARM})
    grouped, _ = parse_rule("(ALARM(a) OR ALARM(b)) AND INSUFFICIENT_DATA(c)")
    assert not grouped({"a": ALARM, "b": OK, "c": OK})
    assert parse_rule("TRUE")[0]({})
    assert not parse_rule("NOT TRUE")[0]({})


@pytest.mark.parametrize("rule", ["ALARM(a) OR", "(ALARM(a)", "ALARM(a) ALARM(b)", "METRIC(a)"])
def test_a_malformed_rule_is_named(rule: str) -> None:
    with pytest.raises(NotEmulated, match="rule"):
        parse_rule(rule)

"""The idle schedule (ADR 0020): dev sleeps at night and at weekends, prod and staging never."""

from __future__ import annotations

import re

import pytest

from config import DEV, PROD, STAGING, ConfigError, IdleSchedule


def test_dev_has_a_schedule_and_staging_and_prod_have_none() -> None:
    assert DEV.idle == IdleSchedule(awake_from_hour=7, asleep_from_hour=19, weekdays_only=True)
    assert PROD.idle is None
    assert STAGING.idle is None


def test_the_rules_fire_at_the_edges_of_the_awake_hours() -> None:
    schedule = IdleSchedule(awake_from_hour=6, asleep_from_hour=20, weekdays_only=True)
    assert schedule.wake_expression == "cron(0 6 ? * MON-FRI *)"
    assert schedule.sleep_expression == "cron(0 20 ? * MON-FRI *)"
    every_day = IdleSchedule(awake_from_hour=6, asleep_from_hour=20, weekdays_only=False)
    assert every_day.sleep_expression == "cron(0 20 ? * * *)"


def test_awake_hours_per_week_is_what_the_cost_estimate_bills() -> None:
    assert DEV.idle is not None
    assert DEV.idle.awake_hours_per_week == 60  # 12 h x 5 days
    assert IdleSchedule(awake_from_hour=0, asleep_from_hour=23, weekdays_only=False).awake_hours_per_week == 161


@pytest.mark.parametrize(
    ("hour", "weekday", "awake"),
    [(6, 0, False), (7, 0, True), (18, 4, True), (19, 4, False), (12, 5, False), (12, 6, False)],
)
def test_is_awake_matches_the_rules(hour: int, weekday: int, awake: bool) -> None:
    assert IdleSchedule().is_awake(hour, weekday) is awake


@pytest.mark.parametrize(
    ("awake", "asleep", "field"),
    [
        (7, 7, "idle.asleep_from_hour"),
        (19, 7, "idle.asleep_from_hour"),
        (-1, 7, "idle.awake_from_hour"),
        (7, 24, "idle.asleep_from_hour"),
    ],
)
def test_a_schedule_that_is_never_awake_or_out_of_the_day_is_refused(awake: int, asleep: int, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{re.escape(field)}"):
        IdleSchedule(awake_from_hour=awake, asleep_from_hour=asleep)

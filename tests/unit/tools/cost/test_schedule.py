"""Schedule expressions counted over a 365-day year, and scheduled scaling turned into instance-hours."""

from __future__ import annotations

import pytest

from tools.cost.errors import CostError
from tools.cost.schedule import CapacityChange, runs_per_month, scheduled_instance_hours_per_month

WEEKDAYS_2025 = 261  # the reference year: 365 days from Wednesday 2025-01-01


@pytest.mark.parametrize(
    ("expression", "per_month"),
    [
        ("cron(0 * ? * * *)", 730.0),  # hourly: the monitoring backends' default
        ("cron(10 * * * ? *)", 730.0),  # EventBridge form, minute 10
        ("cron(0 */6 ? * * *)", 365 * 4 / 12),
        ("cron(0 0 ? * * *)", 365 / 12),
        ("cron(0/15 * * * ? *)", 365 * 24 * 4 / 12),
        ("cron(0 8 ? * MON-FRI *)", WEEKDAYS_2025 / 12),
        ("cron(0 8 ? * 2-6 *)", WEEKDAYS_2025 / 12),  # 1 = Sunday
        ("cron(30 9 1 * ? *)", 1.0),
        ("cron(0 12 ? JAN,JUL * *)", (31 + 31) / 12),
        ("rate(7 days)", 365 / 7 / 12),
        ("rate(1 hour)", 730.0),
        ("rate(5 minutes)", 365 * 24 * 12 / 12),
        ("at(2027-01-01T00:00:00)", 0.0),
    ],
)
def test_runs_per_month(expression: str, per_month: float) -> None:
    assert runs_per_month(expression) == pytest.approx(per_month)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 8 L * ? *)", "'L', 'W' and '#'"),
        ("cron(0 8 ? * 2#1 *)", "'L', 'W' and '#'"),
        ("cron(0 8 * *)", "6 fields"),
        ("cron(0 25 * * ? *)", "outside 0-23"),
        ("cron(0 8 * * ? 2027)", "year field"),
        ("every day", "not a cron"),
    ],
)
def test_unreadable_schedules_name_the_problem(expression: str, problem: str) -> None:
    with pytest.raises(CostError, match=problem) as raised:
        runs_per_month(expression)
    assert expression in str(raised.value)


def test_without_scheduled_actions_the_clamped_count_runs_all_month() -> None:
    assert scheduled_instance_hours_per_month(wanted=1, min_capacity=2, max_capacity=4, changes=[]) == 2 * 730
    assert scheduled_instance_hours_per_month(wanted=7, min_capacity=2, max_capacity=4, changes=[]) == 4 * 730


def test_working_hours_schedule_scales_down_nights_and_weekends() -> None:
    # 2 instances from 07:00 to 19:00 on weekdays, 1 otherwise.
    changes = [
        CapacityChange(schedule="cron(0 19 ? * MON-FRI *)", min_capacity=1, max_capacity=1),
        CapacityChange(schedule="cron(0 7 ? * MON-FRI *)", min_capacity=2, max_capacity=4),
    ]
    hours = scheduled_instance_hours_per_month(wanted=1, min_capacity=2, max_capacity=4, changes=changes)

    working = WEEKDAYS_2025 * 12
    assert hours == pytest.approx((working * 2 + (8760 - working) * 1) / 12)


def test_the_year_starts_in_the_state_its_last_action_left() -> None:
    # Scaled down at 20:00 every day and up at 06:00: the year begins at night, at the scaled-down size.
    changes = [
        CapacityChange(schedule="cron(0 20 * * ? *)", min_capacity=0, max_capacity=0),
        CapacityChange(schedule="cron(0 6 * * ? *)", min_capacity=1, max_capacity=None),
    ]
    hours = scheduled_instance_hours_per_month(wanted=1, min_capacity=1, max_capacity=2, changes=changes)

    assert hours == pytest.approx(14 * 365 / 12)

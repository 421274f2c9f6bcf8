"""Schedule expressions (EventBridge, SageMaker monitoring, Application Auto Scaling) counted over a year.

Supported: ``rate(N minute|minutes|hour|hours|day|days)`` and six-field ``cron(min hour dom month dow year)``
with ``*``, ``?``, lists, ranges, ``/`` steps and month/day names; ``at(...)`` (one-off) fires no recurring
runs. ``L``, ``W`` and ``#`` are rejected with a clear error. Time zones shift when a schedule fires, not how
often, so they are ignored. The reference year has 365 days (8,760 hours: 730 a month).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tools.cost.errors import CostError

MINUTES_PER_YEAR = 365 * 24 * 60
MONTHS_PER_YEAR = 12
_REFERENCE_YEAR_START = date(2025, 1, 1)  # any 365-day year: only counts and durations matter

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\(.+\)$")
_UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}  # cron: 1 = Sunday


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> frozenset[int] | None:
    """The values a cron field matches; None for ``?`` (no constraint)."""
    if text == "?":
        return None
    text = text.upper()
    for name, number in names.items():
        text = text.replace(name, str(number))
    if any(c in text for c in "LW#"):
        raise CostError(f"schedule {expression!r}: 'L', 'W' and '#' are not supported by the cost estimate")
    values: set[int] = set()
    for item in text.split(","):
        part, step = item, 1
        if "/" in item:
            part, step_text = item.split("/", 1)
            step = _number(step_text, expression)
            if step < 1:
                raise CostError(f"schedule {expression!r}: step must be at least 1")
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _number(first, expression), _number(last, expression)
        else:
            start = _number(part, expression)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or end < start:
            raise CostError(f"schedule {expression!r}: '{text}' is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, expression: str) -> int:
    if not text.isdigit():
        raise CostError(f"schedule {expression!r}: cannot read '{text}'")
    return int(text)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None

    @classmethod
    def parse(cls, expression: str) -> Cron:
        match = _CRON.match(expression.strip())
        if not match:
            raise CostError(f"schedule {expression!r} is not a cron(...) expression")
        parts = match.group(1).split()
        if len(parts) != 6:
            raise CostError(f"schedule {expression!r}: cron needs 6 fields (min hour day month weekday year)")
        minute, hour, dom, month, dow, year = parts
        if year not in ("*", "?"):
            raise CostError(f"schedule {expression!r}: only '*' is supported in the year field")
        minutes = _field(minute, 0, 59, {}, expression)
        hours = _field(hour, 0, 23, {}, expression)
        months = _field(month, 1, 12, _MONTHS, expression)
        if minutes is None or hours is None or months is None:
            raise CostError(f"schedule {expression!r}: '?' is only allowed in the day fields")
        return cls(
            expression=expression,
            minutes=minutes,
            hours=hours,
            days_of_month=_field(dom, 1, 31, {}, expression),
            months=months,
            days_of_week=_field(dow, 1, 7, _DAYS, expression),
        )

    def fires_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        weekday = day.isoweekday() % 7 + 1  # Sunday = 1 ... Saturday = 7
        return self.days_of_week is None or weekday in self.days_of_week

    def minutes_of_year(self) -> Iterator[int]:
        """Every minute of the reference year at which the schedule fires, in order."""
        for offset in range(365):
            if self.fires_on(_REFERENCE_YEAR_START + timedelta(days=offset)):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        yield offset * 1440 + hour * 60 + minute


def firing_minutes(expression: str) -> list[int]:
    """Minutes of the reference year at which ``expression`` fires (empty for a one-off ``at(...)``)."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        every = int(rate.group(1)) * _UNIT_MINUTES[rate.group(2)]
        if every < 1:
            raise CostError(f"schedule {expression!r}: the rate must be at least 1")
        return list(range(0, MINUTES_PER_YEAR, every))
    if _AT.match(text):
        return []
    return list(Cron.parse(text).minutes_of_year())


def runs_per_month(expression: str) -> float:
    """How often ``expression`` fires in an average month (a year's firings / 12)."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:  # exact, without listing every minute of the year
        every = int(rate.group(1)) * _UNIT_MINUTES[rate.group(2)]
        if every < 1:
            raise CostError(f"schedule {expression!r}: the rate must be at least 1")
        return MINUTES_PER_YEAR / every / MONTHS_PER_YEAR
    return len(firing_minutes(text)) / MONTHS_PER_YEAR


@dataclass(frozen=True)
class CapacityChange:
    """A scheduled scaling action: from its firing times on, the target's bounds become these (None = keep)."""

    schedule: str
    min_capacity: int | None
    max_capacity: int | None


def scheduled_instance_hours_per_month(
    *, wanted: int, min_capacity: int, max_capacity: int, changes: Sequence[CapacityChange]
) -> float:
    """Instance-hours a month of a scalable target that wants ``wanted`` instances, clamped to its bounds,
    while scheduled actions move the bounds. Without actions: ``clamp(wanted) x 730``.

    The bounds at the start of the year are those left by the year's last action (schedules repeat), so a
    nightly scale-down and a morning scale-up give the same figure whatever hour the year starts at."""
    events: list[tuple[int, int, CapacityChange]] = []
    for order, change in enumerate(changes):
        events.extend((minute, order, change) for minute in firing_minutes(change.schedule))
    events.sort(key=lambda e: (e[0], e[1]))
    low, high = min_capacity, max_capacity

    def apply(change: CapacityChange, low: int, high: int) -> tuple[int, int]:
        return (
            low if change.min_capacity is None else change.min_capacity,
            high if change.max_capacity is None else change.max_capacity,
        )

    for _, _, change in events:  # the state the repeating year starts in
        low, high = apply(change, low, high)
    instance_minutes = 0
    previous = 0
    for minute, _, change in events:
        instance_minutes += (minute - previous) * _clamp(wanted, low, high)
        low, high = apply(change, low, high)
        previous = minute
    instance_minutes += (MINUTES_PER_YEAR - previous) * _clamp(wanted, low, high)
    return instance_minutes / 60 / MONTHS_PER_YEAR


def _clamp(wanted: int, low: int, high: int) -> int:
    return max(low, min(wanted, high))

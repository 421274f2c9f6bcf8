"""CloudWatch alarm evaluation: deployed alarms judged against the published metric data, as CloudWatch would.

Real: the alarms as deployed (``DescribeAlarms``: metric, namespace, dimensions, statistic or extended
statistic, period, evaluation periods, datapoints to alarm, comparison, threshold, missing-data treatment,
low-sample percentile setting; a composite alarm's rule), the metric data as published (moto's CloudWatch
store, read in-process as CloudWatch's own evaluator reads its store), ``SetAlarmState``, ``PutEvents`` to the
default bus, ``Publish`` to the alarm's SNS actions.

Emulated (docs/aws-facts.md#alarm-evaluation), by ``evaluate_all(aws, now)``, which CloudWatch does for
every alarm every minute:

- a metric alarm's datapoints are its statistic over periods aligned to multiples of the period (UTC), the
  newest being the period holding ``now``; only data with exactly the alarm's dimensions (and unit, if set)
  counts. Statistics: ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum`` and percentiles ``pNN``
  (nearest rank over the raw values; no percentile over statistic sets or negative values);
- the evaluation range is the last ``EvaluationPeriods`` + ``EXTRA_PERIODS`` periods. With at least
  ``EvaluationPeriods`` real datapoints in it, the newest that many are judged and missing data plays no part;
  with fewer, the missing ones are filled per ``TreatMissingData`` (``breaching``, ``notBreaching``; with
  ``missing`` and ``ignore`` only the real ones count); with none, ``missing`` gives ``INSUFFICIENT_DATA``,
  ``ignore`` keeps the state, ``breaching`` gives ``ALARM``, ``notBreaching`` ``OK``. ``ALARM`` takes
  ``DatapointsToAlarm`` breaching datapoints (default: ``EvaluationPeriods``), otherwise ``OK``. A percentile
  with too few samples (under 10/(1-p), or 10/p below p50) keeps the state when
  ``EvaluateLowSampleCountPercentile`` is ``ignore``;
- a composite alarm's rule (``ALARM(x)``, ``OK(x)``, ``INSUFFICIENT_DATA(x)``, ``AND``, ``OR``, ``NOT``,
  parentheses, ``TRUE``, ``FALSE``; names or ARNs) over the states just evaluated: ``ALARM`` when true, else
  ``OK``, or ``INSUFFICIENT_DATA`` while every alarm it names is;
- a state change is set with CloudWatch's kind of reason (``Threshold Crossed: ...``) and reason data, put on
  EventBridge as ``CloudWatch Alarm State Change`` (source ``aws.cloudwatch``; ``detail.alarmName``,
  ``configuration``, ``previousState`` and ``state`` with ``value``, ``reason``, ``reasonData``,
  ``timestamp``), the shape of the CloudWatch User Guide's "Alarm events and EventBridge"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html), and sent to
  the state's SNS actions when actions are enabled.

What it could hide: how many extra periods CloudWatch really fetches (``EXTRA_PERIODS`` is a choice), that it
may wait for a period to fill before judging it (the newest, partial period counts here), its exact percentile
interpolation, metric-math and anomaly-detection alarms (reported, left as they are), alarm history, and that
only AWS services may put ``aws.*`` events (the emulator puts them with PutEvents).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.demo.emulators.runtime import Aws, moto_backend

EVENT_SOURCE = "aws.cloudwatch"
STATE_CHANGE = "CloudWatch Alarm State Change"
EXTRA_PERIODS = 2
ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_COMPARE: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
log = logging.getLogger("demo.emulators.alarms")


class NotEmulated(ValueError):  # noqa: N818 - a reason to leave an alarm as it is, named by what it is
    """The alarm uses something this emulator does not evaluate (metric math, anomaly detection, tmNN...)."""


# ---- statistics ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One stored datum: a value (``count`` 1) or a statistic set."""

    count: float
    total: float
    minimum: float
    maximum: float

    @classmethod
    def value(cls, value: float) -> Sample:
        return cls(1.0, value, value, value)


_STANDARD: dict[str, Callable[[Sequence[Sample]], float]] = {
    "SampleCount": lambda samples: sum(s.count for s in samples),
    "Sum": lambda samples: sum(s.total for s in samples),
    "Average": lambda samples: sum(s.total for s in samples) / sum(s.count for s in samples),
    "Minimum": lambda samples: min(s.minimum for s in samples),
    "Maximum": lambda samples: max(s.maximum for s in samples),
}


def statistic(samples: Sequence[Sample], name: str) -> float | None:
    """The statistic of a period's samples, None when it has none (or no percentile can be taken)."""
    match = _PERCENTILE.match(name)
    if name not in _STANDARD and match is None:
        raise NotEmulated(f"statistic {name} is not emulated")
    if not samples or sum(s.count for s in samples) <= 0:
        return None
    if match is None:
        return _STANDARD[name](samples)
    values: list[float] = []
    for sample in samples:
        if sample.count != 1 and sample.minimum != sample.maximum:
            return None  # a statistic set of different values has no percentile
        values += [sample.minimum] * int(sample.count)
    if min(values) < 0:
        return None
    values.sort()
    rank = max(1, math.ceil(float(match.group(1)) / 100 * len(values)))
    return values[rank - 1]


def low_sample_count(samples: Sequence[Sample], name: str) -> bool:
    """Too few samples for the percentile to be significant (CloudWatch: 10/(1-p) at p50 and above, else 10/p)."""
    match = _PERCENTILE.match(name)
    if match is None:
        return False
    p = float(match.group(1)) / 100
    needed = 10 / (1 - p) if 0.5 <= p < 1 else (10 / p if p > 0 else math.inf)
    return sum(s.count for s in samples) < needed


# ---- metric alarms --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Datapoint:
    start: datetime
    value: float | None
    samples: int
    low: bool = False  # a percentile over too few samples


@dataclass(frozen=True)
class Verdict:
    state: str  # the new state (the current one when kept)
    reason: str
    data: dict[str, Any]


def periods(now: datetime, period: int, count: int) -> list[datetime]:
    """Starts of the ``count`` periods ending with the one holding ``now``, newest first."""
    epoch = int(now.timestamp()) // period * period
    return [datetime.fromtimestamp(epoch - i * period, tz=UTC) for i in range(count)]


def _stored(aws: Aws) -> list[Any]:
    backend = moto_backend("cloudwatch", aws.account, aws.region)
    return [*backend.metric_data, *backend.aws_metric_data]


def datapoints(stored: Sequence[Any], alarm: Mapping[str, Any], now: datetime) -> list[Datapoint]:
    """The alarm's datapoints over its evaluation range, newest first."""
    if alarm.get("Metrics"):
        raise NotEmulated("metric-math alarms are not emulated")
    stat = str(alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "")
    statistic([], stat)  # fails early for a statistic that is not emulated
    period = int(alarm["Period"])
    starts = periods(now, period, int(alarm["EvaluationPeriods"]) + EXTRA_PERIODS)
    dimensions = {(str(d["Name"]), str(d["Value"])) for d in alarm.get("Dimensions", [])}
    unit = alarm.get("Unit")
    buckets: dict[datetime, list[Sample]] = {start: [] for start in starts}
    oldest, end = starts[-1], starts[0] + timedelta(seconds=period)
    for datum in stored:
        if datum.namespace != alarm.get("Namespace") or datum.name != alarm.get("MetricName"):
            continue
        if {(d.name, d.value) for d in datum.dimensions} != dimensions or (unit and datum.unit not in (unit, None)):
            continue
        moment = datum.timestamp if datum.timestamp.tzinfo else datum.timestamp.replace(tzinfo=UTC)
        if not oldest <= moment < end:
            continue
        start = datetime.fromtimestamp(int(moment.timestamp()) // period * period, tz=UTC)
        if hasattr(datum, "value"):
            buckets[start].append(Sample.value(float(datum.value)))
        else:
            buckets[start].append(
                Sample(float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))
            )
    return [
        Datapoint(start, statistic(buckets[start], stat), len(buckets[start]), low_sample_count(buckets[start], stat))
        for start in starts
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%d/%m/%y %H:%M:%S")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def decide(alarm: Mapping[str, Any], points: Sequence[Datapoint], *, current: str, now: datetime) -> Verdict:
    """The alarm's state from its datapoints (newest first), with CloudWatch's kind of reason."""
    operator = str(alarm.get("ComparisonOperator", ""))
    if operator not in _COMPARE:
        raise NotEmulated(f"comparison {operator} is not emulated")
    breaches, words = _COMPARE[operator]
    threshold = float(alarm["Threshold"])
    n = int(alarm["EvaluationPeriods"])
    m = int(alarm.get("DatapointsToAlarm") or n)
    treat = str(alarm.get("TreatMissingData") or "missing")
    stat = str(alarm.get("ExtendedStatistic") or alarm.get("Statistic"))
    real = [p for p in points if p.value is not None]
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(points[-1].start),
        ("extendedStatistic" if alarm.get("ExtendedStatistic") else "statistic"): stat,
        "period": int(alarm["Period"]),
        "recentDatapoints": [p.value for p in reversed(real[:n])],
        "threshold": threshold,
    }
    if real and real[0].low and alarm.get("EvaluateLowSampleCountPercentile") == "ignore":
        return Verdict(current, f"Kept {current}: the newest {stat} has too few samples to be significant.", data)
    if not real:
        if treat == "ignore":
            return Verdict(current, f"No datapoints in {len(points)} periods; missing data is ignored.", data)
        if treat == "missing":
            return Verdict(INSUFFICIENT, f"Insufficient Data: {len(points)} datapoints were unknown.", data)
        filled = ALARM if treat == "breaching" and m <= n else OK
        word = "Breaching" if treat == "breaching" else "NonBreaching"
        return Verdict(
            filled,
            f"Threshold Crossed: no datapoints were received for {n} periods and {n} missing datapoints were "
            f"treated as [{word}].",
            data,
        )
    judged = real[:n]
    fill = n - len(judged)
    breaching = sum(1 for p in judged if breaches(float(p.value or 0.0), threshold))
    if fill and treat == "breaching":
        breaching += fill
    state = ALARM if breaching >= m else OK
    shown = ", ".join(f"{p.value} ({_when(p.start)})" for p in judged)
    verb = ("was" if len(judged) == 1 else "were") + ("" if state == ALARM else " not")
    filled = f" and {fill} missing datapoint(s) were treated as [{treat}]" if fill and treat != "missing" else ""
    data["evaluatedDatapoints"] = [
        {"timestamp": _iso(p.start), "sampleCount": p.samples, "value": p.value} for p in judged
    ]
    transition = f"{current} -> {state}" if current != state else state
    return Verdict(
        state,
        f"Threshold Crossed: {len(judged)} out of the last {len(judged)} datapoints [{shown}] {verb} {words} the "
        f"threshold ({threshold}){filled} (minimum {m} datapoint(s) for {transition} transition).",
        data,
    )


# ---- composite alarms -------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<func>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:"(?P<quoted>[^"]+)"|(?P<bare>[^)\s]+))\s*\)'
    r"|(?P<word>AND|OR|NOT|TRUE|FALSE)\b|(?P<paren>[()]))"
)


def alarm_name(reference: str) -> str:
    """The alarm a rule names, by name or ARN."""
    return reference.split(":alarm:", 1)[1] if ":alarm:" in reference else reference


def parse_rule(rule: str) -> tuple[Callable[[Mapping[str, str]], bool], set[str]]:
    """A composite alarm's rule as a function of the alarms' states, and the alarm names it reads."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = rule.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise NotEmulated(f"cannot read alarm rule at {text[position : position + 30]!r}")
        if match.group("func"):
            tokens.append((match.group("func"), alarm_name(match.group("quoted") or match.group("bare"))))
        else:
            tokens.append((match.group("word") or match.group("paren"), ""))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    names = {name for kind, name in tokens if name}
    index = 0

    def expression() -> Callable[[Mapping[str, str]], bool]:
        nonlocal index
        terms = [conjunction()]
        while index < len(tokens) and tokens[index][0] == "OR":
            index += 1
            terms.append(conjunction())
        return lambda states: any(t(states) for t in terms)

    def conjunction() -> Callable[[Mapping[str, str]], bool]:
        nonlocal index
        factors = [factor()]
        while index < len(tokens) and tokens[index][0] == "AND":
            index += 1
            factors.append(factor())
        return lambda states: all(f(states) for f in factors)

    def factor() -> Callable[[Mapping[str, str]], bool]:
        nonlocal index
        if index >= len(tokens):
            raise NotEmulated(f"alarm rule {rule!r} ends early")
        kind, name = tokens[index]
        index += 1
        if kind == "NOT":
            inner = factor()
            return lambda states: not inner(states)
        if kind == "(":
            inner = expression()
            if index >= len(tokens) or tokens[index][0] != ")":
                raise NotEmulated(f"alarm rule {rule!r} misses a closing parenthesis")
            index += 1
            return inner
        if kind in ("TRUE", "FALSE"):
            return lambda states: kind == "TRUE"
        if kind in (ALARM, OK, INSUFFICIENT):
            return lambda states: states.get(name) == kind
        raise NotEmulated(f"unexpected {kind!r} in alarm rule {rule!r}")

    parsed = expression()
    if index != len(tokens):
        raise NotEmulated(f"unexpected {tokens[index][0]!r} in alarm rule {rule!r}")
    return parsed, names


# ---- evaluating and changing state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    alarm: str
    previous: str
    state: str
    reason: str


def evaluate_all(aws: Aws, now: datetime | None = None, *, names: Sequence[str] | None = None) -> list[Change]:
    """Evaluate every alarm (or ``names``) at ``now``: metric alarms first, then composites over their states."""
    moment = now or datetime.now(UTC)
    found = aws.client("cloudwatch").describe_alarms()  # one page: moto does not paginate DescribeAlarms
    wanted = set(names) if names else None
    metric_alarms = [a for a in found.get("MetricAlarms", []) if wanted is None or a["AlarmName"] in wanted]
    composites = [a for a in found.get("CompositeAlarms", []) if wanted is None or a["AlarmName"] in wanted]
    states = {str(a["AlarmName"]): str(a["StateValue"]) for a in found.get("MetricAlarms", [])}
    states |= {str(a["AlarmName"]): str(a["StateValue"]) for a in found.get("CompositeAlarms", [])}
    stored = _stored(aws)
    changes: list[Change] = []
    for alarm in metric_alarms:
        try:
            verdict = decide(alarm, datapoints(stored, alarm, moment), current=str(alarm["StateValue"]), now=moment)
        except NotEmulated as error:
            log.info("alarm %s not evaluated: %s", alarm["AlarmName"], error)
            continue
        states[str(alarm["AlarmName"])] = verdict.state
        changes += _apply(aws, alarm, verdict, moment, composite=False)
    for _ in range(len(composites) + 1):  # composites of composites settle within as many rounds
        changed = False
        for alarm in composites:
            name = str(alarm["AlarmName"])
            try:
                verdict = _composite(alarm, states)
            except NotEmulated as error:
                log.info("composite alarm %s not evaluated: %s", name, error)
                continue
            if verdict.state != states[name]:
                previous, states[name] = states[name], verdict.state
                changes += _apply(aws, {**alarm, "StateValue": previous}, verdict, moment, composite=True)
                changed = True
        if not changed:
            break
    return changes


def _composite(alarm: Mapping[str, Any], states: Mapping[str, str]) -> Verdict:
    rule, names = parse_rule(str(alarm["AlarmRule"]))
    if rule(states):
        triggering = sorted(n for n in names if states.get(n) == ALARM)
        return Verdict(
            ALARM,
            f"The rule {alarm['AlarmRule']} is true (in ALARM: {', '.join(triggering) or 'none'}).",
            {"triggeringAlarms": [{"name": n, "state": {"value": ALARM}} for n in triggering]},
        )
    if names and all(states.get(n, INSUFFICIENT) == INSUFFICIENT for n in names):
        return Verdict(INSUFFICIENT, "Every alarm the rule names is in INSUFFICIENT_DATA.", {})
    return Verdict(OK, f"The rule {alarm['AlarmRule']} is false.", {"triggeringAlarms": []})


def _apply(aws: Aws, alarm: Mapping[str, Any], verdict: Verdict, moment: datetime, *, composite: bool) -> list[Change]:
    previous = str(alarm["StateValue"])
    if verdict.state == previous:
        return []
    name = str(alarm["AlarmName"])
    reason = verdict.reason[:1023]
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=verdict.state, StateReason=reason, StateReasonData=json.dumps(verdict.data)
    )
    _event(aws, alarm, verdict, previous, moment, composite=composite)
    _notify(aws, alarm, verdict, previous, moment)
    log.info("alarm %s: %s -> %s (%s)", name, previous, verdict.state, reason)
    return [Change(alarm=name, previous=previous, state=verdict.state, reason=reason)]


def _configuration(alarm: Mapping[str, Any], *, composite: bool) -> dict[str, Any]:
    if composite:
        return {"alarmRule": alarm.get("AlarmRule"), "description": alarm.get("AlarmDescription", "")}
    return {
        "description": alarm.get("AlarmDescription", ""),
        "metrics": [
            {
                "id": "m1",
                "metricStat": {
                    "metric": {
                        "dimensions": {str(d["Name"]): str(d["Value"]) for d in alarm.get("Dimensions", [])},
                        "name": alarm.get("MetricName"),
                        "namespace": alarm.get("Namespace"),
                    },
                    "period": alarm.get("Period"),
                    "stat": alarm.get("ExtendedStatistic") or alarm.get("Statistic"),
                },
                "returnData": True,
            }
        ],
    }


def _event(
    aws: Aws, alarm: Mapping[str, Any], verdict: Verdict, previous: str, moment: datetime, *, composite: bool
) -> None:
    updated = alarm.get("StateUpdatedTimestamp")
    detail = {
        "alarmName": alarm["AlarmName"],
        "configuration": _configuration(alarm, composite=composite),
        "previousState": {
            "value": previous,
            "reason": alarm.get("StateReason", ""),
            "reasonData": alarm.get("StateReasonData", "{}"),
            "timestamp": _iso(updated) if isinstance(updated, datetime) else _iso(moment),
        },
        "state": {
            "value": verdict.state,
            "reason": verdict.reason,
            "reasonData": json.dumps(verdict.data),
            "timestamp": _iso(moment),
        },
    }
    aws.client("events").put_events(
        Entries=[
            {
                "Time": moment,
                "Source": EVENT_SOURCE,
                "DetailType": STATE_CHANGE,
                "Resources": [str(alarm["AlarmArn"])],
                "Detail": json.dumps(detail),
            }
        ]
    )


def _notify(aws: Aws, alarm: Mapping[str, Any], verdict: Verdict, previous: str, moment: datetime) -> None:
    if not alarm.get("ActionsEnabled", True):
        return
    key = {ALARM: "AlarmActions", OK: "OKActions", INSUFFICIENT: "InsufficientDataActions"}[verdict.state]
    message = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": aws.account,
        "NewStateValue": verdict.state,
        "NewStateReason": verdict.reason,
        "StateChangeTime": _iso(moment),
        "Region": aws.region,
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": previous,
    }
    for action in alarm.get(key, []):
        if ":sns:" not in str(action):
            continue
        try:
            aws.client("sns").publish(
                TopicArn=str(action),
                Subject=f'{verdict.state}: "{alarm["AlarmName"]}" in {aws.region}'[:100],
                Message=json.dumps(message),
            )
        except Exception as error:
            log.warning("alarm %s: action %s failed: %s", alarm["AlarmName"], action, error)

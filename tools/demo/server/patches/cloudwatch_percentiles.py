"""Percentile statistics (``p99``) in GetMetricData and GetMetricStatistics.

Gap: moto's ``Statistics.get_statistics_for_type`` (moto/cloudwatch/models.py) knows only SampleCount, Sum,
Average, Minimum and Maximum and answers None for ``pNN``, which the response serializer cannot write: a
GetMetricData query with ``"Stat": "p99"`` is an HTTP 500. The deployment Lambdas' comparison of a candidate
with production (``lambdas/deployment/compare.py``) reads ``ModelLatency`` p99 that way.

Patch: ``pNN`` is the nearest-rank percentile of the period's values, computed by
``tools.demo.emulators.alarms.statistic`` (the alarm emulator's definition, so comparisons and alarms agree). A
period without a percentile (a statistic set of different values, or a negative value) answers NaN, where
CloudWatch would leave the period out.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext


def replacements(context: ServerContext | None = None) -> list[tuple[Any, str, Any]]:
    from moto.cloudwatch.models import MetricAggregatedDatum, Statistics  # noqa: PLC0415

    from tools.demo.emulators.alarms import Sample, statistic  # noqa: PLC0415

    original = Statistics.get_statistics_for_type

    @functools.wraps(original)
    def get_statistics_for_type(self: Any, stat: str) -> Any:
        if not (stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit()):
            return original(self, stat)
        samples = [
            Sample(float(d.sample_count), float(d.sum), float(d.min), float(d.max))
            if isinstance(d, MetricAggregatedDatum)
            else Sample.value(float(d.value))
            for d in self.metric_data
        ]
        value = statistic(samples, stat)
        return math.nan if value is None else value

    return [(Statistics, "get_statistics_for_type", get_statistics_for_type)]


def apply(context: ServerContext) -> None:
    for owner, name, value in replacements(context):
        setattr(owner, name, value)

"""CloudWatch metrics of a window: as Embedded Metric Format lines and as ``PutMetricData`` batches.

Namespace and dimensions come from the job config (default namespace ``MLOps/DataQuality``, dimensions
``Model`` and ``Environment``); per-feature metrics add ``Feature``. This is deliberately not Model Monitor's
``/aws/sagemaker/Endpoints/data-metric`` namespace (docs/aws-facts.md#model-monitor-metrics): both backends'
alarms are wired by the monitoring construct, which picks the namespace of the backend in use.

Metrics (Unit ``None`` unless said):

==========================  ==============================  ====================================================
name                        dimensions                      value
==========================  ==============================  ====================================================
``FeatureDrift``            config + Feature                the drift distance that the threshold applies to
``FeatureDriftDetected``    config + Feature                1 when the feature drifted, else 0 (Count)
``FeatureCompleteness``     config + Feature                present / (present + missing), 0..1
``RecordCount``             config                          usable records in the window (Count)
``QuarantinedLineCount``    config                          lines quarantined (Count)
``ViolationCount``          config                          entries in constraint_violations.json (Count)
``DriftedFeatureCount``     config                          features with a baseline_drift_check (Count)
==========================  ==============================  ====================================================

EMF: one JSON object per dimension set, ``{"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{"Namespace",
"Dimensions": [[...]], "Metrics": [{"Name", "Unit"}]}]}, <dimension>: <value>, <metric>: <value>}``
(CloudWatch User Guide, "Embedded metric format specification"). ``PutMetricData`` takes at most 1,000
metric data per request, 30 dimensions each, and rejects NaN and infinities (CloudWatch API Reference,
PutMetricData); non-finite values are left out. boto3 is imported only by ``cloudwatch_client``; the job takes
any object with a ``put_metric_data(**kwargs)`` method, so tests pass a fake and local runs publish nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitoring_job.compare import Evaluation
from monitoring_job.config import JobConfig
from monitoring_job.stats import WindowStatistics

MAX_DATA_PER_REQUEST = 1000
FEATURE_DIMENSION = "Feature"


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    unit: str
    dimensions: tuple[tuple[str, str], ...]


class CloudWatchClient(Protocol):
    def put_metric_data(self, **kwargs: Any) -> Any: ...


def metric_points(window: WindowStatistics, evaluation: Evaluation, config: JobConfig) -> list[MetricPoint]:
    base = config.metrics.dimensions
    points = [
        MetricPoint("RecordCount", float(window.read.records), "Count", base),
        MetricPoint("QuarantinedLineCount", float(sum(window.read.bad_lines.values())), "Count", base),
        MetricPoint("ViolationCount", float(len(evaluation.violations)), "Count", base),
        MetricPoint("DriftedFeatureCount", float(len(evaluation.drifted)), "Count", base),
    ]
    for name, drift in evaluation.features.items():
        dimensions = (*base, (FEATURE_DIMENSION, name))
        if drift.distance is not None:
            points.append(MetricPoint("FeatureDrift", drift.distance, "None", dimensions))
        points.append(MetricPoint("FeatureDriftDetected", 1.0 if drift.drifted else 0.0, "Count", dimensions))
        if drift.completeness is not None:
            points.append(MetricPoint("FeatureCompleteness", drift.completeness, "None", dimensions))
    return [p for p in points if math.isfinite(p.value)]


def emf_lines(points: Sequence[MetricPoint], namespace: str, timestamp: datetime) -> list[str]:
    """One EMF JSON line per dimension set."""
    groups: dict[tuple[tuple[str, str], ...], list[MetricPoint]] = {}
    for point in points:
        groups.setdefault(point.dimensions, []).append(point)
    millis = int(timestamp.timestamp() * 1000)
    lines = []
    for dimensions, group in groups.items():
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": millis,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [[name for name, _ in dimensions]],
                        "Metrics": [{"Name": p.name, "Unit": p.unit} for p in group],
                    }
                ],
            }
        }
        document.update(dict(dimensions))
        document.update({p.name: p.value for p in group})
        lines.append(json.dumps(document, sort_keys=False))
    return lines


def put_metric_data_batches(
    points: Sequence[MetricPoint], namespace: str, timestamp: datetime, batch_size: int = MAX_DATA_PER_REQUEST
) -> list[dict[str, Any]]:
    """Keyword arguments for successive ``put_metric_data`` calls."""
    data = [
        {
            "MetricName": p.name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in p.dimensions],
            "Timestamp": timestamp,
            "Value": p.value,
            "Unit": p.unit,
        }
        for p in points
    ]
    return [{"Namespace": namespace, "MetricData": data[i : i + batch_size]} for i in range(0, len(data), batch_size)]


def publish(batches: Sequence[dict[str, Any]], client: CloudWatchClient) -> int:
    """Send every batch; returns the number of metric data sent. Errors propagate (the job then fails)."""
    sent = 0
    for batch in batches:
        client.put_metric_data(**batch)
        sent += len(batch["MetricData"])
    return sent


def cloudwatch_client() -> CloudWatchClient:  # pragma: no cover - needs boto3 and AWS credentials
    import boto3  # noqa: PLC0415 - only where publishing is enabled; the image may not have boto3 otherwise

    client: CloudWatchClient = boto3.client("cloudwatch")
    return client

"""compare: is the candidate no worse than the champion over a window? (shadow, each A/B step, guardrail bake)

Event  ``{"deployment_id": str, "window_end"?: iso, "window_minutes"?: int, "now"?: iso}``
Result ``{deployment_id, step_index, passed: bool, reasons: [str], metrics: {...}}`` (also recorded on the
deployment's history item; ``promote`` and the next ``ab_step`` refuse a candidate whose last comparison failed)

Who is compared with whom, over ``[window_end - window_minutes, window_end)``:

==============  ==========================================  ===============================================
strategy        champion                                    candidate
==============  ==========================================  ===============================================
shadow          production variant, same window             shadow variant "shadow" (``shadow.window_minutes``)
ab              production variant, same window             challenger variant "challenger" (``ab.step_minutes``)
guardrails      production variant, the window before the   production variant, the window ending now
                deployment started (``bake_minutes``)       (regression against the model's recent history)
==============  ==========================================  ===============================================

Evidence:
- CloudWatch ``AWS/SageMaker`` per variant (dimensions EndpointName, VariantName): ``Invocations`` (Sum),
  ``Invocation5XXErrors`` (Sum) and ``ModelLatency`` p99, which SageMaker reports in MICROseconds;
- data capture in S3 (``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``): each variant's scores in
  the window, keyed by ``inferenceId`` (else ``eventId``). Distribution distance = two-sample Kolmogorov-Smirnov
  statistic of the scores; agreement (shadow only, where both variants scored the SAME requests) = share of
  inference ids captured by both whose decisions at ``decision_threshold`` are equal.

Thresholds (``DEPLOYMENT_SETTINGS.shadow``, used for every strategy): the candidate fails if it served fewer
than ``min_invocations`` requests; if its 5xx rate exceeds the champion's by more than
``max_error_rate_increase_percent`` points; if its p99 latency exceeds ``max_p99_latency_ratio`` x the
champion's; if the score distance exceeds ``max_prediction_distance``; if agreement is below
``min_agreement_rate``. Shadow and ab need at least ``min_captured_predictions`` captured scores per variant
(and matched ids for agreement). The score distance judges shadow and ab only: there both models score the same
population at the same time. A guardrail bake records it (when both windows have captures) but does not fail on
it: its windows are different requests, before and after the deployment, scored by different models, and a model
retrained after drift is expected to move the distribution (``docs/decisions/0016-bake-judges-service-not-scores.md``).
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from lambdas.deployment import events
from lambdas.deployment.endpoint import check_serving, describe_config, describe_endpoint
from lambdas.deployment.errors import MalformedRequest, StepOutOfOrder
from lambdas.deployment.history import DEPLOYING
from lambdas.deployment.runtime import Aws, deployment_clients, deployment_env, history_store
from lambdas.deployment.scores import NotAScore, parse_score
from lambdas.deployment.settings import DeploymentEnv, Strategy, StrategySettings
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger, metrics

NAMESPACE = "AWS/SageMaker"
MAX_CAPTURE_OBJECTS = 2_000  # per variant and window: keeps one invocation's time and memory bounded
MAX_CAPTURE_RECORDS = 100_000


@dataclass(frozen=True, kw_only=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, minutes: int) -> Window:
        aligned = end.replace(second=0, microsecond=0)
        return cls(start=aligned - timedelta(minutes=minutes), end=aligned)

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def hours(self) -> Iterator[datetime]:
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        while hour < self.end:
            yield hour
            hour += timedelta(hours=1)


@dataclass(frozen=True, kw_only=True)
class VariantMetrics:
    variant: str
    invocations: float
    errors_5xx: float
    p99_model_latency_us: float | None

    @property
    def error_rate_percent(self) -> float | None:
        return 100.0 * self.errors_5xx / self.invocations if self.invocations > 0 else None


@dataclass(frozen=True, kw_only=True)
class Captured:
    scores: dict[str, float]  # inference id -> score
    records: int
    unreadable: int
    truncated: bool


@dataclass(frozen=True, kw_only=True)
class Side:
    role: str  # "champion" | "candidate"
    variant: str
    window: Window


def compare(event: object, *, env: DeploymentEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    store = history_store(env, aws)
    deployment = store.get(events.deployment_id(request))
    if deployment.status != DEPLOYING:
        raise StepOutOfOrder(
            f"deployment '{deployment.deployment_id}' is {deployment.status}; compare needs it deployed"
        )
    strategy = Strategy(deployment.strategy)
    if strategy is Strategy.AB and deployment.ab_step_index < 0:
        raise StepOutOfOrder(f"deployment '{deployment.deployment_id}': apply ab_step 0 before comparing")
    state = describe_endpoint(aws.sagemaker, env.endpoint_name)
    check_serving(state, deployment.deploy_config)

    settings = env.settings
    end = events.optional_time(request, "window_end") or now
    default_minutes = {Strategy.SHADOW: settings.shadow.window_minutes, Strategy.AB: settings.ab.step_minutes}.get(
        strategy, settings.bake_minutes
    )
    minutes = events.optional_int(request, "window_minutes", low=1, high=24 * 60) or default_minutes
    window = Window.ending(end, minutes)
    if strategy.uses_guardrails:
        before = Window.ending(events.parse_time(deployment.started_at), minutes)
        sides = (
            Side(role="champion", variant=env.variant_name, window=before),
            Side(role="candidate", variant=env.variant_name, window=window),
        )
    else:
        sides = (
            Side(role="champion", variant=env.variant_name, window=window),
            Side(role="candidate", variant=deployment.candidate_variant, window=window),
        )

    measured = {side.role: read_metrics(aws.cloudwatch, endpoint=env.endpoint_name, side=side) for side in sides}
    config = describe_config(aws.sagemaker, deployment.deploy_config) or {}
    destination = (config.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    captured = {
        side.role: read_captures(aws.s3, destination=destination, endpoint=env.endpoint_name, side=side)
        for side in sides
        if destination
    }
    passed, reasons, evidence = evaluate(
        strategy=strategy, settings=settings, measured=measured, captured=captured, capture_on=bool(destination)
    )
    step_index = deployment.ab_step_index if strategy is Strategy.AB else 0
    evidence["windows"] = {
        side.role: {
            "variant": side.variant,
            "start": events.format_time(side.window.start),
            "end": events.format_time(side.window.end),
        }
        for side in sides
    }
    outcome = {"passed": passed, "reasons": reasons, "step_index": step_index, "window_end": events.format_time(end)}
    store.update(deployment, comparison=json.dumps({**outcome, "metrics": evidence}, sort_keys=True))
    metrics.add_metric(
        name="CandidateComparisonPassed" if passed else "CandidateComparisonFailed", unit="Count", value=1
    )
    result = {
        "deployment_id": deployment.deployment_id,
        "step_index": step_index,
        "passed": passed,
        "reasons": reasons,
        "metrics": evidence,
    }
    logger.info("comparison", extra=result)
    return result


# ---- evidence ----


def read_metrics(cloudwatch: Any, *, endpoint: str, side: Side) -> VariantMetrics:
    """One GetMetricData call: Invocations and Invocation5XXErrors (Sum), ModelLatency p99 (microseconds)."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": side.variant}]
    period = max(60, side.window.seconds // 60 * 60)
    queries: list[dict[str, Any]] = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                "Period": period,
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for query_id, metric, stat in (
            ("invocations", "Invocations", "Sum"),
            ("errors5xx", "Invocation5XXErrors", "Sum"),
            ("latencyp99", "ModelLatency", "p99"),
        )
    ]
    values: dict[str, list[float]] = {str(q["Id"]): [] for q in queries}
    kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": side.window.start, "EndTime": side.window.end}
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            values[result["Id"]].extend(float(v) for v in result.get("Values", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    latency = values["latencyp99"]
    return VariantMetrics(
        variant=side.variant,
        invocations=sum(values["invocations"]),
        errors_5xx=sum(values["errors5xx"]),
        p99_model_latency_us=max(latency) if latency else None,
    )


def read_captures(s3: Any, *, destination: str, endpoint: str, side: Side) -> Captured:
    """The variant's captured scores in the window, by inference id, bounded in objects and records."""
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    scores: dict[str, float] = {}
    records = unreadable = objects = 0
    truncated = False
    for hour in side.window.hours():
        hour_prefix = "/".join(p for p in (prefix, endpoint, side.variant, hour.strftime("%Y/%m/%d/%H")) if p) + "/"
        for key in _keys(s3, bucket, hour_prefix):
            objects += 1
            if objects > MAX_CAPTURE_OBJECTS or records >= MAX_CAPTURE_RECORDS:
                truncated = True
                break
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            for raw in body.iter_lines():
                if not raw.strip():
                    continue
                parsed = _capture_line(raw)
                if parsed is None:
                    unreadable += 1
                    continue
                inference_id, moment, score = parsed
                if moment is None or side.window.start <= moment < side.window.end:
                    scores[inference_id] = score
                    records += 1
    return Captured(scores=scores, records=records, unreadable=unreadable, truncated=truncated)


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kwargs)
        for item in page.get("Contents", []):
            if str(item["Key"]).endswith(".jsonl"):
                yield str(item["Key"])
        if not page.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def _capture_line(raw: bytes) -> tuple[str, datetime | None, float] | None:
    """(inference id, inference time, score) of one capture record; None if the line is unusable."""
    try:
        record = json.loads(raw)
        meta = record["eventMetadata"]
        inference_id = str(meta.get("inferenceId") or meta["eventId"])
        moment = events.optional_time(meta, "inferenceTime")
        output = record["captureData"]["endpointOutput"]
        data = str(output["data"])
        if str(output.get("encoding", "CSV")).upper() == "BASE64":
            data = base64.b64decode(data).decode("utf-8")
        return inference_id, moment, parse_score(data)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, NotAScore, MalformedRequest):
        return None


# ---- judgement ----


def ks_distance(a: list[float], b: list[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs, in [0, 1]."""
    if not a or not b:
        raise ValueError("both samples must be non-empty")
    xs, ys = sorted(a), sorted(b)
    return max(abs(bisect_right(xs, v) / len(xs) - bisect_right(ys, v) / len(ys)) for v in (*xs, *ys))


def evaluate(
    *,
    strategy: Strategy,
    settings: StrategySettings,
    measured: Mapping[str, VariantMetrics],
    captured: Mapping[str, Captured],
    capture_on: bool,
) -> tuple[bool, list[str], dict[str, Any]]:
    """(passed, reasons, evidence) for the measured metrics and captured scores (module docstring: thresholds)."""
    evidence: dict[str, Any] = {
        role: {**asdict(m), "error_rate_percent": m.error_rate_percent} for role, m in measured.items()
    }
    reasons = _traffic_checks(settings, measured["champion"], measured["candidate"], evidence)
    predictions_required = not strategy.uses_guardrails
    if not capture_on:
        if predictions_required:
            reasons.append("data capture is off on the endpoint config: predictions cannot be compared")
        evidence["predictions"] = None
    else:
        reasons.extend(_prediction_checks(strategy, settings, captured, evidence, required=predictions_required))
    return not reasons, reasons, evidence


def _traffic_checks(
    settings: StrategySettings, champion: VariantMetrics, candidate: VariantMetrics, evidence: dict[str, Any]
) -> list[str]:
    limits = settings.shadow
    reasons: list[str] = []
    if candidate.invocations < settings.min_invocations:
        reasons.append(
            f"candidate variant '{candidate.variant}' served {candidate.invocations:.0f} invocations in the window, "
            f"fewer than the {settings.min_invocations} needed to judge it"
        )
    candidate_rate = candidate.error_rate_percent
    if candidate_rate is not None:
        champion_rate = champion.error_rate_percent or 0.0
        increase = candidate_rate - champion_rate
        evidence["error_rate_increase_percent"] = increase
        if increase > limits.max_error_rate_increase_percent:
            reasons.append(
                f"5xx error rate {candidate_rate:.3f}% is {increase:.3f} points above the champion's "
                f"{champion_rate:.3f}% (limit {limits.max_error_rate_increase_percent} points)"
            )
    if candidate.p99_model_latency_us is not None and champion.p99_model_latency_us:
        ratio = candidate.p99_model_latency_us / champion.p99_model_latency_us
        evidence["p99_latency_ratio"] = ratio
        if ratio > limits.max_p99_latency_ratio:
            reasons.append(
                f"p99 ModelLatency {candidate.p99_model_latency_us:.0f} us is {ratio:.2f}x the champion's "
                f"{champion.p99_model_latency_us:.0f} us (limit {limits.max_p99_latency_ratio}x)"
            )
    return reasons


def _prediction_checks(
    strategy: Strategy,
    settings: StrategySettings,
    captured: Mapping[str, Captured],
    evidence: dict[str, Any],
    *,
    required: bool,
) -> list[str]:
    limits = settings.shadow
    needed = max(settings.min_captured_predictions, 1)
    champion, candidate = captured["champion"].scores, captured["candidate"].scores
    reasons: list[str] = []
    predictions: dict[str, Any] = {
        "champion_captured": len(champion),
        "candidate_captured": len(candidate),
        "unreadable_lines": captured["champion"].unreadable + captured["candidate"].unreadable,
        "truncated": captured["champion"].truncated or captured["candidate"].truncated,
        "distance": None,
        "matched": None,
        "agreement_rate": None,
    }
    evidence["predictions"] = predictions
    if min(len(champion), len(candidate)) >= needed:
        distance = ks_distance(list(champion.values()), list(candidate.values()))
        predictions["distance"] = distance
        # A guardrail bake compares the old model on the traffic before the deployment with the new model on the
        # traffic after it: a retrained model is meant to score differently (ADR 0016), so its distance
        # is evidence, not a reason; shadow and ab compare both models on the same traffic at the same time.
        if not strategy.uses_guardrails and distance > limits.max_prediction_distance:
            reasons.append(f"score distribution distance (KS) {distance:.3f} exceeds {limits.max_prediction_distance}")
    elif required:
        reasons.append(
            f"only {len(champion)} champion and {len(candidate)} candidate predictions were captured in the window; "
            f"{needed} each are needed"
        )
    if strategy is not Strategy.SHADOW:
        return reasons
    matched = sorted(set(champion) & set(candidate))
    predictions["matched"] = len(matched)
    if len(matched) < needed:
        reasons.append(f"only {len(matched)} inferences were captured from both variants; {needed} are needed")
        return reasons
    threshold = settings.decision_threshold
    rate = sum((champion[i] >= threshold) == (candidate[i] >= threshold) for i in matched) / len(matched)
    predictions["agreement_rate"] = rate
    if rate < limits.min_agreement_rate:
        reasons.append(
            f"decisions agree on {rate:.3f} of {len(matched)} shared inferences, below {limits.min_agreement_rate}"
        )
    return reasons


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return compare(event, env=deployment_env(), aws=deployment_clients(), now=request_time(events.as_mapping(event)))

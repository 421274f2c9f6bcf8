"""Retroactive model-quality evaluation: ground truth joined with captured predictions, per variant.

One run evaluates one WINDOW of inference times ``[start, end)`` (whole hours):

- **predictions**: every data-capture object under ``<capture prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` for
  each variant found under the endpoint, for the window's hours plus ``capture_slack_hours`` on each side (a
  capture file's hour is when it was written, and a buffered file can hold records of the neighbouring hour).
  Records are kept when their ``eventMetadata.inferenceTime`` lies in the window. The join key is
  ``eventMetadata.inferenceId``, or ``eventId`` when the caller passed no inference id (as Model Monitor's
  ground-truth merge does). A variant capturing the same id twice keeps the first record and counts the repeat;
- **labels**: every ground-truth object under ``<ground truth prefix>/yyyy/mm/dd/hh/`` whose COLLECTION hour is
  in ``[start, end + label lag)``. Labels collected before the window start belong to an earlier evaluation and
  are not read; labels collected after ``end + lag`` are too late and are not read either;
- **duplicates**: several labels for one id count once. The LATEST collected wins (collection hour, then the
  object's LastModified, then key, then line number); ``labels_duplicate`` counts the extra lines of ids that
  matched a prediction and ``labels_conflicting`` the ids whose duplicates disagree;
- **late labels**: a matched label collected after the window end (inside the lag) is joined like any other
  and counted in ``labels_late``. Labels collected after ``end + lag`` are never read, so they are not counted;
- **unmatched**: distinct label ids with no captured prediction in the window. With a lag, labels of the
  neighbouring windows' inferences are read too and land here, so the figure is a per-window diagnostic and is
  not additive across windows; the missing-label signal to alarm on is ``LabelCoverage``;
- **malformed lines** (not JSON, no id, no score, bad label value...) are counted by reason and copied, with
  their source and line number, to ``<quarantine prefix>/<model>/yyyy/mm/dd/hh/{captures,labels}.jsonl``. A
  line is the responsibility of the evaluation whose window contains its object's hour, so consecutive
  evaluations count and quarantine every malformed line exactly once, even though their reads overlap.

Per variant it computes AUC, PR-AUC (average precision), precision, recall, F1, accuracy and the confusion
counts at the decision threshold, label coverage (matched / predictions) and the spec's business metrics. The
report goes to ``quality/<model>/yyyy/mm/dd/hh/report.json`` (the window start) in the reports bucket; reruns
overwrite it. An empty window is a report of zeros, not an error, so missing-data alarms can fire.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from lambdas.quality.scoring import Confusion, average_precision, confusion_at, is_positive, roc_auc
from lambdas.quality.settings import BusinessMetricConfig, BusinessMetricKind, QualitySettings

NAMESPACE = "MLOps/ModelQuality"
HOUR = timedelta(hours=1)
CAPTURES, LABELS = "captures", "labels"
MAX_QUARANTINED_CHARS = 100_000  # a quarantined line longer than this is truncated (and says so)
PUT_METRIC_DATA_LIMIT = 1000  # MetricData entries per PutMetricData request


class MalformedLine(ValueError):  # noqa: N818 - named by what it is, like MalformedEvent
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- the window ----


def floor_hour(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    """The whole hours that intersect ``[start, end)``."""
    hour = floor_hour(start)
    while hour < end:
        yield hour
        hour += HOUR


@dataclass(frozen=True)
class EvaluationWindow:
    """Inference times ``[start, end)``; labels collected in ``[start, end + label_lag)`` are joined."""

    start: datetime
    end: datetime
    label_lag: timedelta

    @classmethod
    def ending_before(cls, moment: datetime, *, lag_hours: int, window_hours: int) -> EvaluationWindow:
        """The window that ends ``lag_hours`` before ``moment`` (floored to the hour): its labels had time."""
        end = floor_hour(moment) - timedelta(hours=lag_hours)
        return cls(end - timedelta(hours=window_hours), end, timedelta(hours=lag_hours))

    @classmethod
    def ending_at(cls, end: datetime, *, lag_hours: int, window_hours: int) -> EvaluationWindow:
        end = floor_hour(end)
        return cls(end - timedelta(hours=window_hours), end, timedelta(hours=lag_hours))

    @property
    def labels_until(self) -> datetime:
        return self.end + self.label_lag

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def owns_hour(self, hour: datetime) -> bool:
        return self.start <= hour < self.end

    @property
    def path(self) -> str:
        return f"{self.start:%Y/%m/%d/%H}"


# ---- parsing ----


@dataclass(frozen=True)
class Capture:
    inference_id: str
    inference_time: datetime
    score: float
    values: tuple[float, ...]  # the business value columns, in ``value_columns`` order


@dataclass(frozen=True)
class Label:
    inference_id: str
    value: int


def parse_capture(raw: str, value_columns: Sequence[int] = ()) -> Capture:
    record = _json_object(raw)
    meta = record.get("eventMetadata")
    if not isinstance(meta, dict):
        raise MalformedLine("missing_event_metadata")
    inference_id = meta.get("inferenceId") or meta.get("eventId")
    if not isinstance(inference_id, str) or not inference_id.strip():
        raise MalformedLine("missing_inference_id")
    inference_time = _parse_time(meta.get("inferenceTime"))
    capture = record.get("captureData")
    if not isinstance(capture, dict):
        raise MalformedLine("missing_capture_data")
    output = capture.get("endpointOutput")
    if not isinstance(output, dict):
        raise MalformedLine("missing_endpoint_output")
    score = _score(*_payload(output, "bad_score"))
    values: tuple[float, ...] = ()
    if value_columns:
        endpoint_input = capture.get("endpointInput")
        if not isinstance(endpoint_input, dict):
            raise MalformedLine("missing_endpoint_input")
        text, _ = _payload(endpoint_input, "bad_input")
        row = _single_csv_row(text, "bad_input")
        values = tuple(_value(row, column) for column in value_columns)
    return Capture(inference_id.strip(), inference_time, score, values)


def parse_label(raw: str) -> Label:
    record = _json_object(raw)
    meta = record.get("eventMetadata")
    event_id = meta.get("eventId") if isinstance(meta, dict) else None
    if not isinstance(event_id, str) or not event_id.strip():
        raise MalformedLine("missing_event_id")
    truth = record.get("groundTruthData")
    if not isinstance(truth, dict):
        raise MalformedLine("missing_ground_truth")
    text, encoding = _payload(truth, "bad_label")
    return Label(event_id.strip(), _label_value(text, encoding))


def _json_object(raw: str) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        raise MalformedLine("invalid_json") from None
    if not isinstance(record, dict):
        raise MalformedLine("not_an_object")
    return record


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise MalformedLine("bad_inference_time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MalformedLine("bad_inference_time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _payload(section: dict[str, Any], reason: str) -> tuple[str, str]:
    """``(text, encoding)`` of a capture or ground-truth ``{"data", "encoding"}`` section, BASE64 decoded."""
    data = section.get("data")
    encoding = str(section.get("encoding") or "CSV").upper()
    if isinstance(data, int | float) and not isinstance(data, bool):
        return str(data), encoding
    if not isinstance(data, str):
        raise MalformedLine(reason)
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8"), "CSV"
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedLine(reason) from None
    return data, encoding


def _single_csv_row(text: str, reason: str) -> list[str]:
    rows = [row for row in csv.reader(text.strip().splitlines()) if row]
    if len(rows) != 1:
        raise MalformedLine(reason)  # no record, or a multi-record request that one id cannot label
    return rows[0]


def _finite(text: str, reason: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MalformedLine(reason) from None
    if not math.isfinite(value):
        raise MalformedLine(reason)
    return value


def _score(text: str, encoding: str) -> float:
    if encoding == "JSON":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise MalformedLine("bad_score") from None
        while isinstance(parsed, list) and len(parsed) == 1:
            parsed = parsed[0]
        if isinstance(parsed, bool) or not isinstance(parsed, int | float):
            raise MalformedLine("bad_score")
        return _finite(str(parsed), "bad_score")
    row = _single_csv_row(text, "bad_score")
    if len(row) != 1:
        raise MalformedLine("bad_score")
    return _finite(row[0].strip(), "bad_score")


def _value(row: list[str], column: int) -> float:
    if column >= len(row):
        raise MalformedLine("bad_value_column")
    return _finite(row[column].strip(), "bad_value_column")


def _label_value(text: str, encoding: str) -> int:
    word = text.strip().strip('"').strip().lower()
    if encoding == "CSV" and "," in word:
        raise MalformedLine("bad_label")
    if word in ("true", "false"):
        return int(word == "true")
    try:
        value = float(word)
    except ValueError:
        raise MalformedLine("bad_label") from None
    if value not in (0.0, 1.0):
        raise MalformedLine("bad_label")
    return int(value)


# ---- quarantine ----


@dataclass
class Quarantine:
    """Malformed lines of one kind: every one counted by reason; kept verbatim up to ``limit`` lines and
    ``budget_chars`` characters, so a window full of garbage cannot exhaust the function's memory."""

    limit: int = 10_000
    budget_chars: int = 16_000_000
    reasons: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)
    chars: int = 0

    def add(self, reason: str, *, source: str, line: int, raw: str) -> None:
        self.reasons[reason] += 1
        if len(self.lines) >= self.limit or self.chars >= self.budget_chars:
            return
        entry: dict[str, Any] = {"reason": reason, "source": source, "line": line, "raw": raw[:MAX_QUARANTINED_CHARS]}
        if len(raw) > MAX_QUARANTINED_CHARS:
            entry["truncated"] = True
        text = json.dumps(entry, sort_keys=True)
        self.lines.append(text)
        self.chars += len(text)

    @property
    def total(self) -> int:
        return sum(self.reasons.values())

    @property
    def dropped(self) -> int:
        """Malformed lines counted but not copied to the quarantine object."""
        return self.total - len(self.lines)


# ---- metrics of one variant ----


@dataclass(frozen=True, slots=True)
class Prediction:
    """A captured prediction, kept until its label is joined."""

    score: float
    values: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Joined:
    """A captured prediction with its label."""

    score: float
    label: int
    values: tuple[float, ...] = ()


def business_values(
    metrics: Sequence[BusinessMetricConfig],
    value_columns: Sequence[int],
    rows: Sequence[Joined],
    threshold: float,
) -> dict[str, float]:
    """Business metrics over joined rows: value caught (TP), value missed (FN), review cost (FP x unit cost)."""
    results: dict[str, float] = {}
    for metric in metrics:
        if metric.kind is BusinessMetricKind.REVIEW_COST:
            false_positives = sum(1 for r in rows if not r.label and is_positive(r.score, threshold))
            results[metric.name] = false_positives * (metric.unit_cost or 0.0)
            continue
        at = value_columns.index(metric.value_column_index)  # validated: set for value kinds
        flagged = metric.kind is BusinessMetricKind.VALUE_CAUGHT
        results[metric.name] = math.fsum(
            r.values[at] for r in rows if r.label and is_positive(r.score, threshold) is flagged
        )
    return results


@dataclass(frozen=True, kw_only=True)
class VariantQuality:
    variant: str
    model_version: str
    predictions: int  # captured in the window (distinct ids)
    labelled: int  # predictions with a label
    captures_duplicate: int
    labels_duplicate: int  # extra label lines for this variant's labelled ids
    labels_conflicting: int  # labelled ids whose duplicate labels disagree
    labels_late: int  # labelled ids whose label was collected after the window end
    positives: int
    confusion: Confusion
    auc: float | None
    pr_auc: float | None
    business: dict[str, float]

    @property
    def coverage(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def to_dict(self) -> dict[str, Any]:
        c = self.confusion
        return {
            "variant": self.variant,
            "model_version": self.model_version,
            "predictions": self.predictions,
            "labelled": self.labelled,
            "label_coverage": self.coverage,
            "captures_duplicate": self.captures_duplicate,
            "labels_duplicate": self.labels_duplicate,
            "labels_conflicting": self.labels_conflicting,
            "labels_late": self.labels_late,
            "positives": self.positives,
            "negatives": self.labelled - self.positives,
            "confusion": {"tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn},
            "auc": self.auc,
            "pr_auc": self.pr_auc,
            "precision": c.precision,
            "recall": c.recall,
            "f1": c.f1,
            "accuracy": c.accuracy,
            "business_metrics": dict(self.business),
        }


def variant_quality(
    *,
    variant: str,
    model_version: str,
    predictions: int,
    rows: Sequence[Joined],
    threshold: float,
    business_metrics: Sequence[BusinessMetricConfig] = (),
    value_columns: Sequence[int] = (),
    captures_duplicate: int = 0,
    labels_duplicate: int = 0,
    labels_conflicting: int = 0,
    labels_late: int = 0,
) -> VariantQuality:
    labels = [r.label for r in rows]
    scores = [r.score for r in rows]
    return VariantQuality(
        variant=variant,
        model_version=model_version,
        predictions=predictions,
        labelled=len(rows),
        captures_duplicate=captures_duplicate,
        labels_duplicate=labels_duplicate,
        labels_conflicting=labels_conflicting,
        labels_late=labels_late,
        positives=sum(labels),
        confusion=confusion_at(labels, scores, threshold),
        auc=roc_auc(labels, scores),
        pr_auc=average_precision(labels, scores),
        business=business_values(business_metrics, value_columns, rows, threshold),
    )


# ---- the report ----


@dataclass(frozen=True, kw_only=True)
class LabelCounts:
    lines: int = 0  # valid label lines read in the collection range
    distinct: int = 0
    matched: int = 0  # distinct ids joined to a prediction of at least one variant
    unmatched: int = 0  # distinct ids with no prediction in the window
    duplicate: int = 0  # extra lines of matched ids
    duplicate_lines_total: int = 0  # extra lines of all ids (lines = distinct + duplicate_lines_total)
    conflicting: int = 0  # matched ids whose duplicates disagree
    late: int = 0  # matched ids whose (winning) label was collected after the window end


@dataclass(frozen=True, kw_only=True)
class CaptureCounts:
    lines: int = 0  # valid capture lines read (window hours plus slack)
    in_window: int = 0
    outside_window: int = 0
    duplicate: int = 0


@dataclass(frozen=True, kw_only=True)
class QualityReport:
    model: str
    environment: str
    endpoint: str
    window: EvaluationWindow
    generated_at: datetime
    decision_threshold: float
    variants: tuple[VariantQuality, ...]
    labels: LabelCounts
    captures: CaptureCounts
    malformed: dict[str, dict[str, int]]
    quarantine: dict[str, str | None]
    business_units: dict[str, str]
    report_uri: str
    quarantine_dropped: dict[str, int] = field(default_factory=dict)  # counted, not copied (limits)

    @property
    def predictions(self) -> int:
        return sum(v.predictions for v in self.variants)

    @property
    def labelled(self) -> int:
        return sum(v.labelled for v in self.variants)

    @property
    def coverage(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def variant(self, name: str) -> VariantQuality:
        for variant in self.variants:
            if variant.variant == name:
                return variant
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "environment": self.environment,
            "endpoint": self.endpoint,
            "window": {
                "start": iso_utc(self.window.start),
                "end": iso_utc(self.window.end),
                "label_lag_hours": self.window.label_lag / HOUR,
                "labels_collected_from": iso_utc(self.window.start),
                "labels_collected_until": iso_utc(self.window.labels_until),
            },
            "generated_at": iso_utc(self.generated_at),
            "decision_threshold": self.decision_threshold,
            "predictions": self.predictions,
            "labelled": self.labelled,
            "label_coverage": self.coverage,
            "labels": vars(self.labels).copy(),
            "captures": vars(self.captures).copy(),
            "malformed": {kind: dict(sorted(reasons.items())) for kind, reasons in self.malformed.items()},
            "quarantine": dict(self.quarantine),
            "quarantine_dropped": dict(self.quarantine_dropped),
            "business_metric_units": dict(self.business_units),
            "variants": {v.variant: v.to_dict() for v in self.variants},
        }


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the evaluation over S3 ----


@dataclass
class _Stored:
    """The winning label of one id and how many lines carried it."""

    order: tuple[datetime, datetime, str, int]
    value: int
    count: int = 1
    conflicting: bool = False


def same_as_variant(variant: str) -> str:
    return variant


class QualityEvaluator:
    """Reads one window from S3 and writes its report and quarantine. The S3 client is passed in."""

    def __init__(
        self,
        *,
        s3: Any,
        settings: QualitySettings,
        version_of: Callable[[str], str] = same_as_variant,
        capture_slack_hours: int = 1,
        max_quarantine_lines: int = 10_000,
    ) -> None:
        self._s3 = s3
        self._settings = settings
        self._version_of = version_of
        self._slack = timedelta(hours=capture_slack_hours)
        self._max_quarantine = max_quarantine_lines
        self._value_columns = tuple(
            sorted({m.value_column_index for m in settings.business_metrics if m.value_column_index is not None})
        )

    # ---- keys ----

    def report_key(self, window: EvaluationWindow) -> str:
        return f"quality/{self._settings.model_name}/{window.path}/report.json"

    def quarantine_key(self, window: EvaluationWindow, kind: str) -> str:
        return f"{self._settings.quarantine_prefix}/{self._settings.model_name}/{window.path}/{kind}.jsonl"

    # ---- entry point ----

    def run(self, window: EvaluationWindow, *, generated_at: datetime) -> QualityReport:
        quarantines = {CAPTURES: Quarantine(self._max_quarantine), LABELS: Quarantine(self._max_quarantine)}
        predictions, capture_counts, duplicates_by_variant = self._read_captures(window, quarantines[CAPTURES])
        labels = self._read_labels(window, quarantines[LABELS])
        report = self._report(
            window=window,
            generated_at=generated_at,
            predictions=predictions,
            labels=labels,
            captures=capture_counts,
            capture_duplicates=duplicates_by_variant,
        )
        report = self._with_quarantine(report, window, quarantines)
        self._write_quarantine(report, window, quarantines)
        self._s3.put_object(
            Bucket=self._settings.reports_bucket,
            Key=self.report_key(window),
            Body=json.dumps(report.to_dict(), indent=2, sort_keys=True).encode(),
            ContentType="application/json",
        )
        return report

    # ---- reading ----

    def _variants(self) -> list[str]:
        location = self._settings.data_capture
        prefix = location.key(self._settings.endpoint_name) + "/"
        found: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=prefix, Delimiter="/"):
            found.extend(p["Prefix"][len(prefix) :].strip("/") for p in page.get("CommonPrefixes", []))
        return sorted(set(found) | set(self._settings.expected_variants))

    def _objects(self, bucket: str, prefix: str) -> Iterator[tuple[str, datetime]]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    yield item["Key"], item["LastModified"]

    def _lines(self, bucket: str, key: str) -> Iterator[tuple[int, str | None, str]]:
        """``(line number, text or None when not UTF-8, text for the quarantine)`` of non-blank lines."""
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        for number, line in enumerate(body.iter_lines(), start=1):
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, line.decode("utf-8", errors="replace")
                continue
            yield number, text, text

    def _read_captures(
        self, window: EvaluationWindow, quarantine: Quarantine
    ) -> tuple[dict[str, dict[str, Prediction]], CaptureCounts, Counter[str]]:
        location = self._settings.data_capture
        predictions: dict[str, dict[str, Prediction]] = {}
        duplicates: Counter[str] = Counter()
        lines = outside = 0
        for variant in self._variants():
            kept = predictions.setdefault(variant, {})
            for hour in hours(window.start - self._slack, window.end + self._slack):
                prefix = location.key(self._settings.endpoint_name, variant, f"{hour:%Y/%m/%d/%H}") + "/"
                for key, _ in self._objects(location.bucket, prefix):
                    source = f"s3://{location.bucket}/{key}"
                    for number, text, raw in self._lines(location.bucket, key):
                        try:
                            if text is None:
                                raise MalformedLine("not_utf8")
                            capture = parse_capture(text, self._value_columns)
                        except MalformedLine as error:
                            if window.owns_hour(hour):
                                quarantine.add(error.reason, source=source, line=number, raw=raw)
                            continue
                        lines += 1
                        if not window.contains(capture.inference_time):
                            outside += 1
                        elif capture.inference_id in kept:
                            duplicates[variant] += 1  # the first record of an id is kept
                        else:
                            kept[capture.inference_id] = Prediction(capture.score, capture.values)
        counts = CaptureCounts(
            lines=lines,
            in_window=sum(len(v) for v in predictions.values()),
            outside_window=outside,
            duplicate=sum(duplicates.values()),
        )
        return predictions, counts, duplicates

    def _read_labels(self, window: EvaluationWindow, quarantine: Quarantine) -> dict[str, _Stored]:
        location = self._settings.ground_truth
        labels: dict[str, _Stored] = {}
        for hour in hours(window.start, window.labels_until):
            for key, modified in self._objects(location.bucket, location.key(f"{hour:%Y/%m/%d/%H}") + "/"):
                source = f"s3://{location.bucket}/{key}"
                for number, text, raw in self._lines(location.bucket, key):
                    try:
                        if text is None:
                            raise MalformedLine("not_utf8")
                        label = parse_label(text)
                    except MalformedLine as error:
                        if window.owns_hour(hour):
                            quarantine.add(error.reason, source=source, line=number, raw=raw)
                        continue
                    order = (hour, modified, key, number)
                    stored = labels.get(label.inference_id)
                    if stored is None:
                        labels[label.inference_id] = _Stored(order, label.value)
                        continue
                    stored.count += 1
                    stored.conflicting = stored.conflicting or stored.value != label.value
                    if order > stored.order:  # the latest collected label wins
                        stored.order, stored.value = order, label.value
        return labels

    # ---- joining ----

    def _report(
        self,
        *,
        window: EvaluationWindow,
        generated_at: datetime,
        predictions: dict[str, dict[str, Prediction]],
        labels: dict[str, _Stored],
        captures: CaptureCounts,
        capture_duplicates: Counter[str],
    ) -> QualityReport:
        settings = self._settings
        matched: set[str] = set()
        variants: list[VariantQuality] = []
        for variant in sorted(predictions):
            kept = predictions[variant]
            if not kept and variant not in settings.expected_variants:
                continue  # a variant that no longer captures (an old shadow) is not reported
            rows: list[Joined] = []
            duplicate = conflicting = late = 0
            for inference_id, prediction in kept.items():
                stored = labels.get(inference_id)
                if stored is None:
                    continue
                matched.add(inference_id)
                rows.append(Joined(prediction.score, stored.value, prediction.values))
                duplicate += stored.count - 1
                conflicting += stored.conflicting
                late += stored.order[0] >= window.end
            variants.append(
                variant_quality(
                    variant=variant,
                    model_version=self._version_of(variant) or variant,
                    predictions=len(kept),
                    rows=rows,
                    threshold=settings.decision_threshold,
                    business_metrics=settings.business_metrics,
                    value_columns=self._value_columns,
                    captures_duplicate=capture_duplicates[variant],
                    labels_duplicate=duplicate,
                    labels_conflicting=conflicting,
                    labels_late=late,
                )
            )
        label_counts = LabelCounts(
            lines=sum(s.count for s in labels.values()),
            distinct=len(labels),
            matched=len(matched),
            unmatched=len(labels) - len(matched),
            duplicate=sum(labels[i].count - 1 for i in matched),
            duplicate_lines_total=sum(s.count - 1 for s in labels.values()),
            conflicting=sum(1 for i in matched if labels[i].conflicting),
            late=sum(1 for i in matched if labels[i].order[0] >= window.end),
        )
        return QualityReport(
            model=settings.model_name,
            environment=settings.environment,
            endpoint=settings.endpoint_name,
            window=window,
            generated_at=generated_at,
            decision_threshold=settings.decision_threshold,
            variants=tuple(variants),
            labels=label_counts,
            captures=captures,
            malformed={CAPTURES: {}, LABELS: {}},
            quarantine={CAPTURES: None, LABELS: None},
            business_units={m.name: m.unit for m in settings.business_metrics},
            report_uri=f"s3://{settings.reports_bucket}/{self.report_key(window)}",
        )

    def _with_quarantine(
        self, report: QualityReport, window: EvaluationWindow, quarantines: dict[str, Quarantine]
    ) -> QualityReport:
        bucket = self._settings.reports_bucket
        return replace(
            report,
            malformed={kind: dict(q.reasons) for kind, q in quarantines.items()},
            quarantine_dropped={kind: q.dropped for kind, q in quarantines.items()},
            quarantine={
                kind: f"s3://{bucket}/{self.quarantine_key(window, kind)}" if q.total else None
                for kind, q in quarantines.items()
            },
        )

    def _write_quarantine(
        self, report: QualityReport, window: EvaluationWindow, quarantines: dict[str, Quarantine]
    ) -> None:
        bucket = self._settings.reports_bucket
        for kind, quarantine in quarantines.items():
            key = self.quarantine_key(window, kind)
            if report.quarantine[kind] is None:
                # A rerun over repaired data leaves no stale quarantine behind.
                self._s3.delete_object(Bucket=bucket, Key=key)
                continue
            body = "".join(line + "\n" for line in quarantine.lines)
            self._s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")


# ---- CloudWatch ----


def metric_data(report: QualityReport, *, timestamp: datetime) -> list[dict[str, Any]]:
    """PutMetricData entries for one report.

    - window totals, dimensions ``Model, Environment``: ``Predictions``, ``LabelsMatched``, ``LabelCoverage``,
      ``LabelsReceived``, ``LabelsUnmatched``, ``LabelsDuplicate``, ``LabelsConflicting``, ``LabelsLate``,
      ``CapturesMalformed``, ``LabelsMalformed`` (always sent, zero when the window is empty);
    - per variant, twice: dimensions ``Model, Environment, Variant`` (stable, for alarms) and
      ``Model, Environment, Variant, ModelVersion`` (per version history): ``Predictions``, ``LabelsMatched``,
      ``LabelCoverage``, ``LabelsDuplicate``, ``LabelsConflicting``, ``LabelsLate``, ``CapturesDuplicate``,
      ``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``, one datum per business metric
      (named after it, in its unit, unit ``None`` to CloudWatch), and, when defined on the data, ``AUC``,
      ``PRAUC``, ``Precision``, ``Recall``, ``F1``, ``Accuracy``.

    ``timestamp`` is when the evaluation ran, not the window: the window lies ``LABEL_LAG_HOURS`` in the past
    and alarms only look at recent datapoints. The window is in the report. A rerun for the same event sends
    the same values at the same timestamp: alarm on Average/Minimum/Maximum, not on Sum.
    """
    base = [{"Name": "Model", "Value": report.model}, {"Name": "Environment", "Value": report.environment}]
    data: list[dict[str, Any]] = []

    def add(name: str, value: float | None, unit: str, dimensions: list[dict[str, str]]) -> None:
        if value is not None:
            data.append(
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": value, "Unit": unit}
            )

    labels = report.labels
    for name, count in (
        ("Predictions", report.predictions),
        ("LabelsMatched", labels.matched),
        ("LabelsReceived", labels.distinct),
        ("LabelsUnmatched", labels.unmatched),
        ("LabelsDuplicate", labels.duplicate),
        ("LabelsConflicting", labels.conflicting),
        ("LabelsLate", labels.late),
        ("CapturesMalformed", sum(report.malformed[CAPTURES].values())),
        ("LabelsMalformed", sum(report.malformed[LABELS].values())),
    ):
        add(name, float(count), "Count", base)
    add("LabelCoverage", report.coverage, "None", base)

    for variant in report.variants:
        c = variant.confusion
        by_variant = [*base, {"Name": "Variant", "Value": variant.variant}]
        by_version = [*by_variant, {"Name": "ModelVersion", "Value": variant.model_version}]
        for dimensions in (by_variant, by_version):
            for name, count in (
                ("Predictions", variant.predictions),
                ("LabelsMatched", variant.labelled),
                ("LabelsDuplicate", variant.labels_duplicate),
                ("LabelsConflicting", variant.labels_conflicting),
                ("LabelsLate", variant.labels_late),
                ("CapturesDuplicate", variant.captures_duplicate),
                ("TruePositives", c.tp),
                ("FalsePositives", c.fp),
                ("TrueNegatives", c.tn),
                ("FalseNegatives", c.fn),
            ):
                add(name, float(count), "Count", dimensions)
            for name, ratio in (
                ("LabelCoverage", variant.coverage),
                ("AUC", variant.auc),
                ("PRAUC", variant.pr_auc),
                ("Precision", c.precision),
                ("Recall", c.recall),
                ("F1", c.f1),
                ("Accuracy", c.accuracy),
            ):
                add(name, ratio, "None", dimensions)
            for name, value in variant.business.items():
                add(name, value, "None", dimensions)
    return data


def put_metric_data(
    cloudwatch: Any, data: Sequence[dict[str, Any]], *, namespace: str = NAMESPACE, batch_size: int = 500
) -> int:
    """Sends ``data`` in PutMetricData batches (at most 1000 entries each); returns the number of calls."""
    size = max(1, min(batch_size, PUT_METRIC_DATA_LIMIT))
    calls = 0
    for first in range(0, len(data), size):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=list(data[first : first + size]))
        calls += 1
    return calls


def evaluate_and_publish(
    *,
    s3: Any,
    cloudwatch: Any,
    settings: QualitySettings,
    window: EvaluationWindow,
    now: datetime,
    version_of: Callable[[str], str] = same_as_variant,
) -> QualityReport:
    """The whole scheduled run: read, join, write the report and quarantine, publish the metrics."""
    report = QualityEvaluator(s3=s3, settings=settings, version_of=version_of).run(window, generated_at=now)
    put_metric_data(cloudwatch, metric_data(report, timestamp=now))
    return report

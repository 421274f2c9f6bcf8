"""Compare a window's statistics with the baseline and list violations in Model Monitor's vocabulary.

Check types are those of ``constraint_violations.json`` (Developer Guide, "Schema for Violations";
docs/aws-facts.md#baseline-and-report-files): data_type_check, completeness_check, baseline_drift_check,
missing_column_check, extra_column_check, categorical_values_check.

Drift (baseline_drift_check) -- a feature drifts when its distance exceeds its threshold AND the difference is
statistically significant at ``significance_level`` (job config, default 0.001):

- numeric: the distance is the L-infinity distance between the baseline and current CDFs on the baseline's fine
  grid (its KLL bucket edges plus 99 sketch percentiles), i.e. a Kolmogorov-Smirnov statistic on those edges,
  tested with the KS p-value (baseline n = its ``num_present``). The same distance on the 10 KLL buckets alone
  (closest to what Model Monitor compares) and the Jensen-Shannon distance on them are reported too.
- categorical: the L-infinity distance between value frequencies (unseen values and ``other`` included, with
  baseline frequency 0), tested with Bonferroni-corrected two-proportion z-tests.

The threshold is the effect size the owner cares about (``ModelSpec.drift_threshold_of``); the test stops a
small window from tripping it by chance. Without the test a 200-record window would false-alarm at 0.1 often;
with it, a same-distribution window of 5,000-20,000 records trips neither condition (KS noise is ~0.02 there).

Constraint checks (when ``evaluate_constraints`` is Enabled):

- completeness_check: the current non-missing fraction is below the constraint's ``completeness`` by more than
  sampling noise (one-sided two-sample binomial z-test at ``significance_level``, the baseline sample's own
  noise included; a constraint of 1.0 tolerates nothing);
- data_type_check: the share of non-integral values in an Integral feature exceeds ``datatype_check_threshold``;
  negative values where ``is_non_negative`` holds; a String/number mismatch between job config and baseline;
- categorical_values_check: the share of values outside the baseline domain exceeds ``domain_content_threshold``;
- missing_column_check / extra_column_check: a baseline feature the config lacks, or the reverse.

Record-level problems (quarantined lines) and an empty window are always violations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from monitor_stats.baseline import Baseline, CategoricalBaseline, NumericBaseline, column_mismatches
from monitor_stats.binning import fold
from monitor_stats.columns import MonitoredColumn
from monitoring_job.capture import QUARANTINE_DIR, ReadCounts
from monitoring_job.config import JobConfig
from monitoring_job.parsing import Reason
from monitoring_job.significance import (
    js_distance,
    ks_p_value,
    linf,
    linf_cdf,
    max_proportion_p_value,
    normal_isf,
    probabilities,
)
from monitoring_job.stats import CategoricalAccumulator, NumericAccumulator, WindowStatistics

DATASET_FEATURE = "_dataset"
RECORD_FEATURE = "_record"


class CheckType(StrEnum):
    DATA_TYPE = "data_type_check"
    COMPLETENESS = "completeness_check"
    BASELINE_DRIFT = "baseline_drift_check"
    MISSING_COLUMN = "missing_column_check"
    EXTRA_COLUMN = "extra_column_check"
    CATEGORICAL_VALUES = "categorical_values_check"


# Which check a quarantined line counts against; the feature is the one at fault when the reason has one.
REASON_CHECKS: dict[Reason, tuple[CheckType, str]] = {
    Reason.INVALID_JSON: (CheckType.DATA_TYPE, RECORD_FEATURE),
    Reason.MISSING_CAPTURE_DATA: (CheckType.MISSING_COLUMN, RECORD_FEATURE),
    Reason.UNSUPPORTED_ENCODING: (CheckType.DATA_TYPE, RECORD_FEATURE),
    Reason.INVALID_PAYLOAD: (CheckType.DATA_TYPE, RECORD_FEATURE),
    Reason.TOO_FEW_COLUMNS: (CheckType.MISSING_COLUMN, RECORD_FEATURE),
    Reason.TOO_MANY_COLUMNS: (CheckType.EXTRA_COLUMN, RECORD_FEATURE),
    Reason.NON_NUMERIC: (CheckType.DATA_TYPE, RECORD_FEATURE),
    Reason.UNKNOWN_FEATURE: (CheckType.EXTRA_COLUMN, RECORD_FEATURE),
    Reason.INVALID_PREDICTION: (CheckType.DATA_TYPE, RECORD_FEATURE),
}

_REASON_TEXT: dict[Reason, str] = {
    Reason.INVALID_JSON: "not valid JSON",
    Reason.MISSING_CAPTURE_DATA: "no captureData.endpointInput with data and encoding",
    Reason.UNSUPPORTED_ENCODING: "payload encoding not CSV, JSON or decodable BASE64",
    Reason.INVALID_PAYLOAD: "payload is not a CSV row or a JSON object of features",
    Reason.TOO_FEW_COLUMNS: "CSV row with fewer columns than the model's features",
    Reason.TOO_MANY_COLUMNS: "CSV row with more columns than the model's features",
    Reason.NON_NUMERIC: "non-numeric value in a numeric feature",
    Reason.UNKNOWN_FEATURE: "JSON object with a feature the model does not have",
    Reason.INVALID_PREDICTION: "endpointOutput is not one number per input row",
}


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: CheckType
    description: str

    def to_json(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type.value,
            "description": self.description,
        }


@dataclass(kw_only=True)
class FeatureDrift:
    """The comparison of one feature, for the drift report, the HTML report and the metrics."""

    name: str
    kind: str
    threshold: float
    compared: bool = False
    drifted: bool = False
    note: str = ""
    distance: float | None = None
    bucket_distance: float | None = None
    js_distance: float | None = None
    p_value: float | None = None
    sample_size: int = 0
    missing: int = 0
    baseline_size: int = 0
    new_values: list[tuple[str, int]] = field(default_factory=list)
    outside_domain_fraction: float | None = None

    @property
    def completeness(self) -> float | None:
        total = self.sample_size + self.missing
        return self.sample_size / total if total else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind,
            "threshold": self.threshold,
            "compared": self.compared,
            "drifted": self.drifted,
            "note": self.note,
            "distance": self.distance,
            "bucket_distance": self.bucket_distance,
            "js_distance": self.js_distance,
            "p_value": self.p_value,
            "sample_size": self.sample_size,
            "missing": self.missing,
            "completeness": self.completeness,
            "baseline_size": self.baseline_size,
            "new_values": [[v, c] for v, c in self.new_values],
            "outside_domain_fraction": self.outside_domain_fraction,
        }


@dataclass
class Evaluation:
    violations: list[Violation]
    features: dict[str, FeatureDrift]

    @property
    def drifted(self) -> list[str]:
        return [name for name, drift in self.features.items() if drift.drifted]


def evaluate(window: WindowStatistics, baseline: Baseline, config: JobConfig) -> Evaluation:
    violations = _record_violations(window.read, config)
    violations += _column_violations(baseline, config)
    features: dict[str, FeatureDrift] = {}
    for feature in config.monitored:
        drift, found = _evaluate_feature(feature, window, baseline, config)
        features[feature.name] = drift
        violations += found
    return Evaluation(violations, features)


def _record_violations(read: ReadCounts, config: JobConfig) -> list[Violation]:
    found: list[Violation] = []
    if read.records == 0:
        text = (
            f"No usable records in the analysis window: {read.files} capture files, {read.lines} lines "
            f"({sum(read.bad_lines.values())} quarantined). Check that the endpoint receives traffic and captures it."
        )
        found.append(Violation(DATASET_FEATURE, CheckType.COMPLETENESS, text))
    lines = max(read.lines, 1)
    for reason_text, count in sorted(read.bad_lines.items()):
        reason = Reason(reason_text)
        check, default_feature = REASON_CHECKS[reason]
        if reason is Reason.INVALID_PREDICTION and config.prediction is not None:
            default_feature = config.prediction.name
        per_feature = sorted((f, n) for (r, f), n in read.bad_values.items() if r == reason_text)
        where = f"{QUARANTINE_DIR}/{reason.value}.jsonl"
        if not per_feature:
            text = f"{count} of {read.lines} lines ({count / lines:.2%}) quarantined in {where}: {_REASON_TEXT[reason]}"
            found.append(Violation(default_feature, check, text))
        for feature, lines_with in per_feature:
            text = f"{lines_with} lines quarantined in {where}: {_REASON_TEXT[reason]} ({feature})"
            found.append(Violation(feature, check, text))
    return found


def _column_violations(baseline: Baseline, config: JobConfig) -> list[Violation]:
    return [Violation(m.name, CheckType(m.check), m.description) for m in column_mismatches(baseline, config.monitored)]


def _evaluate_feature(
    feature: MonitoredColumn, window: WindowStatistics, baseline: Baseline, config: JobConfig
) -> tuple[FeatureDrift, list[Violation]]:
    accumulator = window.features[feature.name]
    drift = FeatureDrift(name=feature.name, kind=feature.kind.value, threshold=feature.drift_threshold)
    drift.sample_size, drift.missing = accumulator.present, accumulator.missing
    found: list[Violation] = []
    if baseline.monitoring.evaluate_constraints and window.read.records > 0:
        found += _completeness(feature.name, accumulator.present, accumulator.missing, baseline, config)
    if isinstance(accumulator, NumericAccumulator):
        numeric = baseline.numeric.get(feature.name)
        if baseline.monitoring.evaluate_constraints:
            found += _numeric_constraints(feature, accumulator, baseline)
        if numeric is None:
            drift.note = "no numeric baseline for this feature"
        else:
            _compare_numeric(drift, accumulator, numeric, baseline, config)
    else:
        categorical = baseline.categorical.get(feature.name)
        if baseline.monitoring.evaluate_constraints:
            found += _domain(drift, accumulator, baseline)
        if categorical is None:
            drift.note = "no categorical baseline for this feature"
        else:
            _compare_categorical(drift, accumulator, categorical, baseline, config)
    if drift.drifted:
        found.append(Violation(feature.name, CheckType.BASELINE_DRIFT, _drift_text(drift)))
    return drift, found


def _completeness(name: str, present: int, missing: int, baseline: Baseline, config: JobConfig) -> list[Violation]:
    constraint = baseline.constraints.get(name)
    total = present + missing
    if constraint is None or constraint.completeness is None or total == 0:
        return []
    expected, observed = constraint.completeness, present / total
    # The constraint is itself an estimate from the baseline sample: its sampling variance counts too.
    baseline_total = _baseline_total(name, baseline)
    variance = expected * (1 - expected) * (1 / total + (1 / baseline_total if baseline_total else 0.0))
    noise = normal_isf(config.significance_level) * math.sqrt(variance)
    if observed >= expected - noise:
        return []
    text = f"Completeness {observed:.4f} ({missing} of {total} missing) is below the baseline constraint {expected:.4f}"
    return [Violation(name, CheckType.COMPLETENESS, text)]


def _baseline_total(name: str, baseline: Baseline) -> int:
    numeric, categorical = baseline.numeric.get(name), baseline.categorical.get(name)
    if numeric is not None:
        return numeric.num_present + numeric.num_missing
    return categorical.num_present + categorical.num_missing if categorical is not None else 0


def _numeric_constraints(feature: MonitoredColumn, acc: NumericAccumulator, baseline: Baseline) -> list[Violation]:
    found: list[Violation] = []
    threshold = baseline.monitoring.datatype_check_threshold
    if acc.present and acc.non_integral / acc.present > threshold:
        text = (
            f"{acc.non_integral} of {acc.present} values ({acc.non_integral / acc.present:.2%}) are not integers; "
            f"the feature is Integral (datatype_check_threshold {threshold})"
        )
        found.append(Violation(feature.name, CheckType.DATA_TYPE, text))
    constraint = baseline.constraints.get(feature.name)
    if constraint is not None and constraint.is_non_negative and acc.negative:
        text = f"{acc.negative} negative values (min {acc.minimum:g}); the baseline constraint is is_non_negative"
        found.append(Violation(feature.name, CheckType.DATA_TYPE, text))
    return found


def _compare_numeric(
    drift: FeatureDrift, acc: NumericAccumulator, numeric: NumericBaseline, baseline: Baseline, config: JobConfig
) -> None:
    drift.baseline_size = numeric.num_present
    if acc.bins is None or acc.present == 0 or not baseline.monitoring.perform_comparison:
        drift.note = "no values to compare" if acc.present == 0 else "comparison disabled in the baseline"
        return
    current = probabilities(acc.bins.astype(np.float64))
    drift.distance = linf_cdf(numeric.grid_probs, current)
    coarse_bins = numeric.bucket_edges.size + 1
    coarse = fold(current, numeric.grid_to_bucket, coarse_bins)
    drift.bucket_distance = linf_cdf(numeric.bucket_probs, coarse)
    drift.js_distance = js_distance(numeric.bucket_probs, coarse)
    drift.p_value = ks_p_value(drift.distance, numeric.num_present, acc.present)
    decide(drift, config.significance_level)


def _compare_categorical(
    drift: FeatureDrift,
    acc: CategoricalAccumulator,
    categorical: CategoricalBaseline,
    baseline: Baseline,
    config: JobConfig,
) -> None:
    base_total = sum(categorical.counts.values())
    drift.baseline_size = int(base_total)
    if acc.present == 0 or base_total == 0 or not baseline.monitoring.perform_comparison:
        drift.note = "no values to compare" if acc.present == 0 else "comparison disabled or empty baseline"
        return
    current_counts = acc.final_counts()
    values = sorted(set(categorical.counts) | set(current_counts))
    base = np.array([categorical.counts.get(v, 0.0) for v in values] + [0.0])
    current = np.array([float(current_counts.get(v, 0)) for v in values] + [float(acc.final_other)])
    drift.distance = linf(base / base_total, current / acc.present)
    drift.js_distance = js_distance(base / base_total, current / acc.present)
    drift.p_value = max_proportion_p_value(base, base_total, current, acc.present)
    decide(drift, config.significance_level)


def decide(drift: FeatureDrift, significance_level: float) -> None:
    """The verdict: drifted when the distance is above the threshold (strictly) AND the p-value is below the
    significance level (strictly). A distance above the threshold that is not significant gets a note."""
    drift.compared = True
    distance, p_value = drift.distance or 0.0, drift.p_value if drift.p_value is not None else 1.0
    drift.drifted = distance > drift.threshold and p_value < significance_level
    if distance > drift.threshold and not drift.drifted:
        drift.note = f"distance above threshold but not significant (p={p_value:.3g}, n={drift.sample_size})"


def _domain(drift: FeatureDrift, acc: CategoricalAccumulator, baseline: Baseline) -> list[Violation]:
    domain = baseline.domain_of(drift.name)
    if domain is None or acc.present == 0:
        return []
    counts = acc.final_counts()
    drift.new_values = sorted(((v, c) for v, c in counts.items() if v not in domain), key=lambda vc: (-vc[1], vc[0]))
    drift.outside_domain_fraction = acc.outside_domain / acc.present
    threshold = baseline.monitoring.domain_content_threshold
    if drift.outside_domain_fraction <= threshold:
        return []
    shown = ", ".join(f"'{v}' ({c})" for v, c in drift.new_values[:5])
    text = (
        f"{acc.outside_domain} of {acc.present} values ({drift.outside_domain_fraction:.2%}) are outside the "
        f"baseline domain (domain_content_threshold {threshold}); most frequent: {shown}"
    )
    return [Violation(drift.name, CheckType.CATEGORICAL_VALUES, text)]


def _drift_text(drift: FeatureDrift) -> str:
    method = (
        "Kolmogorov-Smirnov estimate on the baseline grid"
        if drift.bucket_distance is not None
        else ("L-infinity distance of value frequencies")
    )
    return (
        f"Baseline drift distance {drift.distance:.4f} exceeds threshold {drift.threshold:g} ({method}; "
        f"p={drift.p_value:.3g}, current n={drift.sample_size}, baseline n={drift.baseline_size})"
    )

"""A self-contained HTML report for the model's owner: what changed, what it means, and what happens next.

Sections: a one-line verdict and the window's counts; "What happens next" (when something drifted: the alarms
that fire, from the job config's ``alerting``, and what the retraining loop will and will not do); "How to read
this report" (every test, distance and check in plain words); the violations with their meaning; one section
per monitored column with a plain-words verdict, the numbers, and charts.

Charts are inline SVG written here (no plotting library in the processing image), horizontal bars with each
label in full:

- a numeric column's share of values per bucket, baseline vs current. The buckets are the baseline's ten
  equal-width KLL buckets, unless one of them holds more than ``SKEWED_SHARE`` of the baseline (a skewed
  feature such as an amount, where one equal-width bar would hold nearly everything): then they are baseline
  *quantile* buckets (tenths of the baseline, from the baseline's percentile grid), so each baseline bar holds
  about 10 % and a shift shows up as current bars longer or shorter than that. Under/overflow buckets appear
  when the window has values outside the baseline's range;
- a numeric column's two cumulative distributions, whose largest vertical gap is the drift distance;
- a categorical column's share of each category (the 15 largest, the rest summed), by label.

Every bar carries ``data-label``, ``data-baseline`` and ``data-current`` attributes (shares in [0, 1]) so tests
and scripts can read the charts. Every text is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from monitor_stats.baseline import Baseline, NumericBaseline
from monitor_stats.binning import FloatArray, coarse_map, fold
from monitor_stats.columns import FeatureKind
from monitoring_job.compare import CheckType, Evaluation, FeatureDrift
from monitoring_job.config import JobConfig
from monitoring_job.significance import probabilities
from monitoring_job.stats import CategoricalAccumulator, NumericAccumulator, WindowStatistics

BASELINE_COLOUR = "#4e79a7"
CURRENT_COLOUR = "#f28e2b"
SKEWED_SHARE = 0.4  # an equal-width bucket holding more of the baseline than this -> quantile buckets
QUANTILE_BUCKETS = 10
_TOP_VALUES = 15
_CHAR_PX = 6.6  # width of a character of the 11px labels
_BAR_AREA = 330
_ROW = 24
_WIDTH, _HEIGHT, _PAD = 560, 180, 36

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}
.drift{color:#b00020;font-weight:bold}.ok{color:#1b7f3b}.muted{color:#777}section{margin:1.5rem 0}
.next{border-left:4px solid #b00020;padding:.25rem 1rem;background:#fff5f5}dt{font-weight:bold;margin-top:.5rem}
svg text{font-size:11px;fill:#333}
"""

# Each check type of constraint_violations.json, in plain words.
CHECK_MEANING: dict[CheckType, str] = {
    CheckType.DATA_TYPE: "values of the wrong type: text where a number is expected, fractions in a whole-number "
    "feature, negative values where the baseline had none, or records that could not be read",
    CheckType.COMPLETENESS: "more missing values than the baseline had (beyond what chance explains), or no usable "
    "records at all",
    CheckType.BASELINE_DRIFT: "the distribution moved: the values the model receives no longer look like the ones "
    "it was trained on",
    CheckType.MISSING_COLUMN: "a column the baseline describes is not in what the endpoint receives, or records "
    "with too few columns",
    CheckType.EXTRA_COLUMN: "a column the endpoint receives is not in the baseline (so it cannot be compared), or "
    "records with too many columns",
    CheckType.CATEGORICAL_VALUES: "too many categories the baseline never saw",
}

_HOW_TO_READ = """
<h2>How to read this report</h2>
<p>Each monitored column of the model (its input features and its prediction) in the window of captured
requests is compared with the <em>baseline</em>: the same column over the data the serving model was trained
on, as the pipeline recorded it. A column <strong>drifts</strong> when two things are true at once: its distance
is above its threshold, and the difference is too large to be chance.</p>
<dl>
<dt>Distance, for a number (Kolmogorov&ndash;Smirnov distance)</dt>
<dd>Take any value and compare the share of baseline records below it with the share of current records below
it; the distance is the largest such gap, over all values. 0 means the two distributions are the same; 0.1 means
that below some value there are 10 percentage points more (or fewer) current records than baseline records;
1 means they do not overlap at all. The cumulative chart shows it as the largest vertical gap between the two
lines.</dd>
<dt>Distance, for a category</dt>
<dd>The largest change in any one category's share: 0.1 means some category's share of the records went up or
down by 10 percentage points (new categories count from a baseline share of 0).</dd>
<dt>Threshold</dt>
<dd>The largest distance the model's owner accepts for this column, set per feature in the model's spec. It is
the size of change that matters, whatever the window size.</dd>
<dt>p-value (significance)</dt>
<dd>How likely a distance at least this large would be by chance alone, if the column had not changed at all and
the difference came only from which records happened to fall in the window. A drift needs a p-value below the
significance level ({alpha:g}): below it, chance is not a credible explanation. A small window can show a large
distance by chance; then the report says the distance is above the threshold but not significant.</dd>
<dt>Bucket distance</dt>
<dd>The same Kolmogorov&ndash;Smirnov distance measured on the baseline's ten buckets only: coarser, and closer to
what SageMaker Model Monitor compares. Shown for reference.</dd>
<dt>Jensen&ndash;Shannon distance</dt>
<dd>Another measure of how different the two histograms are, from 0 (the same) to 1 (no overlap), for readers
used to it. Shown for reference; the decision does not use it.</dd>
<dt>Completeness</dt>
<dd>The share of records in which the column has a value.</dd>
<dt>Outside the baseline domain</dt>
<dd>For a category: the share of records whose value never appeared in the baseline.</dd>
</dl>
"""


def render_report(
    window: WindowStatistics, baseline: Baseline, evaluation: Evaluation, config: JobConfig, generated: datetime
) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Data quality: {_e(config.model_name)} ({_e(config.environment)})</title><style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>Data quality and drift: {_e(config.model_name)} ({_e(config.environment)})</h1>",
        _headline(evaluation, config),
        _summary(window, evaluation, config, generated),
        _next_steps(evaluation, config),
        _HOW_TO_READ.format(alpha=config.significance_level),
        _violations(evaluation),
    ]
    for feature in config.monitored:
        drift = evaluation.features[feature.name]
        accumulator = window.features[feature.name]
        if isinstance(accumulator, NumericAccumulator):
            parts.append(_numeric_section(drift, accumulator, baseline, config))
        else:
            parts.append(_categorical_section(drift, accumulator, baseline, config))
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _headline(evaluation: Evaluation, config: JobConfig) -> str:
    total = len(config.monitored)
    drifted = evaluation.drifted
    if drifted:
        names = ", ".join(drifted)
        return f"<p class='drift'>{len(drifted)} of {total} monitored columns drifted: {_e(names)}.</p>"
    if evaluation.violations:
        return f"<p>No drift in the {total} monitored columns, but {len(evaluation.violations)} other violation(s).</p>"
    return f"<p class='ok'>No drift and no violation: all {total} monitored columns look like the baseline.</p>"


def _summary(window: WindowStatistics, evaluation: Evaluation, config: JobConfig, generated: datetime) -> str:
    read = window.read
    rows = [
        ("Endpoint", config.endpoint_name),
        ("Generated", generated.isoformat(timespec="seconds")),
        ("Capture files", read.files),
        ("Lines read", read.lines),
        ("Usable records", read.records),
        ("Quarantined lines", sum(read.bad_lines.values())),
        ("Blank lines", read.blank_lines),
        ("Violations", len(evaluation.violations)),
        ("Drifted columns", ", ".join(evaluation.drifted) or "none"),
    ]
    body = "".join(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _next_steps(evaluation: Evaluation, config: JobConfig) -> str:
    drifted = evaluation.drifted
    if not drifted:
        return ""
    inputs = [name for name in drifted if name in config.feature_names]
    items: list[str] = []
    alerting = config.alerting
    if alerting is None:
        items.append(
            "This run has no alarms configured (a local run). Deployed, each drifted input feature sets its drift "
            "alarm and the owner is notified."
        )
    elif inputs:
        alarms = ", ".join(f"<code>{_e(alerting.feature_alarm(name))}</code>" for name in inputs)
        items.append(
            f"The drift alarm of each drifted input feature goes to ALARM ({alarms}); the combined alarm "
            f"<code>{_e(alerting.drift_alarm)}</code> notifies the model's owner by e-mail."
        )
        if alerting.retrain_on_alarms:
            approval = (
                "you approve it (<code>python -m tools.mlops_cli approve</code>) before it is deployed"
                if alerting.manual_approval
                else "it is approved automatically in this environment"
            )
            items.append(
                "The drift alarm also starts the retraining loop: the pipeline trains a candidate on the latest "
                "labelled data, scores it and the serving model on the same fresh test set, and registers it only "
                "if it clears the absolute threshold and beats the serving model by the minimum improvement; "
                f"{approval}; it is then deployed with guardrails and rolled back if it regresses. Nothing is "
                "deployed if the candidate is not better."
            )
        else:
            items.append(
                "Retraining on alarms is off in this environment: once you know the cause, start it with "
                "<code>python -m tools.mlops_cli retrain</code>."
            )
    if "prediction" in drifted or (config.prediction is not None and config.prediction.name in drifted):
        items.append(
            "The prediction drifted: the model scores the current traffic differently from the baseline. No alarm "
            "watches the prediction on its own; check the quality alarms once labels arrive."
        )
    items.append(
        "Check the cause before trusting a retrained model. Retraining helps when the world changed (customers "
        "behave differently, new merchants): the new data is right and the model is out of date. If the data is "
        "wrong (a broken upstream feature, a changed unit or encoding), fix the source instead: a model retrained "
        "on broken inputs learns the defect. <code>python -m tools.mlops_cli pause</code> stops alarms from "
        "starting retraining while you look."
    )
    body = "".join(f"<li>{item}</li>" for item in items)
    return f"<div class='next'><h2>What happens next</h2><ul>{body}</ul></div>"


def _violations(evaluation: Evaluation) -> str:
    if not evaluation.violations:
        return "<h2>Violations</h2><p class='ok'>None.</p>"
    rows = "".join(
        f"<tr><td class='l'>{_e(v.feature_name)}</td><td class='l'>{_e(v.constraint_check_type.value)}</td>"
        f"<td class='l'>{_e(CHECK_MEANING[v.constraint_check_type])}</td><td class='l'>{_e(v.description)}</td></tr>"
        for v in evaluation.violations
    )
    head = (
        "<tr><th class='l'>Column</th><th class='l'>Check</th><th class='l'>What it means</th>"
        "<th class='l'>Details</th></tr>"
    )
    return f"<h2>Violations</h2><table>{head}{rows}</table>"


def _verdict(drift: FeatureDrift) -> str:
    if drift.drifted:
        return "<span class='drift'>DRIFT</span>"
    if drift.compared:
        return "<span class='ok'>no drift</span>"
    return f"<span class='muted'>not compared: {_e(drift.note)}</span>"


def _verdict_text(drift: FeatureDrift, config: JobConfig) -> str:
    """The verdict in one plain sentence."""
    if not drift.compared:
        return f"<p class='muted'>Not compared: {_e(drift.note)}.</p>"
    distance, threshold, p_value = drift.distance or 0.0, drift.threshold, drift.p_value
    alpha = config.significance_level
    if drift.drifted:
        return (
            f"<p class='drift'>Drifted: the distance {distance:.3g} is above the threshold {threshold:g}, and a gap "
            f"this large by chance alone has a p-value of {p_value:.2g} (below {alpha:g}).</p>"
        )
    if distance > threshold:
        return (
            f"<p>Not flagged: the distance {distance:.3g} is above the threshold {threshold:g}, but with "
            f"{drift.sample_size} records the p-value is {p_value:.2g} (not below {alpha:g}): it could be chance. "
            "A larger window will tell.</p>"
        )
    return f"<p class='ok'>No drift: the distance {distance:.3g} is within the threshold {threshold:g}.</p>"


def _drift_table(drift: FeatureDrift) -> str:
    cells = [
        ("distance", _fmt(drift.distance)),
        ("threshold", _fmt(drift.threshold)),
        ("p-value", _fmt(drift.p_value)),
        ("bucket distance", _fmt(drift.bucket_distance)),
        ("Jensen-Shannon", _fmt(drift.js_distance)),
        ("completeness", _fmt(drift.completeness)),
    ]
    head = "".join(f"<th>{_e(k)}</th>" for k, _ in cells)
    body = "".join(f"<td>{_e(v)}</td>" for _, v in cells)
    return f"<table><tr>{head}</tr><tr>{body}</tr></table>"


def _numeric_section(drift: FeatureDrift, acc: NumericAccumulator, baseline: Baseline, config: JobConfig) -> str:
    header = f"<section><h2>{_e(drift.name)} <small>({_e(drift.kind)})</small> {_verdict(drift)}</h2>"
    header += _verdict_text(drift, config)
    stats = (
        "<table><tr><th></th><th>count</th><th>missing</th><th>mean</th><th>std dev</th><th>min</th><th>max</th></tr>"
        f"<tr><th class='l'>current</th><td>{acc.present}</td><td>{acc.missing}</td><td>{_fmt(acc.mean)}</td>"
        f"<td>{_fmt(acc.std_dev)}</td><td>{_fmt(acc.minimum if acc.present else None)}</td>"
        f"<td>{_fmt(acc.maximum if acc.present else None)}</td></tr>"
    )
    numeric = baseline.numeric.get(drift.name)
    if numeric is None or acc.bins is None:
        return f"{header}{stats}</table>{_drift_table(drift)}</section>"
    stats += (
        f"<tr><th class='l'>baseline</th><td>{numeric.num_present}</td><td>{numeric.num_missing}</td>"
        f"<td>{_fmt(numeric.mean)}</td><td>{_fmt(numeric.std_dev)}</td><td>{_fmt(numeric.minimum)}</td>"
        f"<td>{_fmt(numeric.maximum)}</td></tr></table>"
    )
    current_fine = probabilities(acc.bins.astype(np.float64))
    labels, base, current, note = numeric_buckets(numeric, current_fine)
    bars = bar_chart(labels, base, current)
    cdf = cdf_chart(numeric.grid, np.cumsum(numeric.grid_probs), np.cumsum(current_fine))
    cdf_note = (
        "The lines: the share of records below each value, from the minimum to the maximum of the baseline (the "
        "x axis is stretched so the baseline line is straight). The largest vertical gap is the distance."
    )
    return (
        f"{header}{stats}{_drift_table(drift)}<p class='muted'>{_e(note)}</p>{bars}"
        f"<p class='muted'>{_e(cdf_note)}</p>{cdf}</section>"
    )


def numeric_buckets(
    numeric: NumericBaseline, current_fine: FloatArray
) -> tuple[list[str], FloatArray, FloatArray, str]:
    """(labels, baseline shares, current shares, explanation) of the buckets a numeric column is drawn with."""
    edges = numeric.bucket_edges
    if float(np.max(numeric.bucket_probs)) > SKEWED_SHARE:
        edges = quantile_edges(numeric)
        note = (
            "Most of the baseline falls in one of ten equal-width buckets, so the bars split it into tenths "
            "instead: each blue bar holds about a tenth of the baseline (ties can merge buckets). Orange bars "
            "longer or shorter than the blue ones show where current values became more or less common."
        )
    else:
        note = "Buckets: the baseline's ten equal-width buckets between its minimum and maximum."
    mapping = coarse_map(numeric.grid, edges)
    base = fold(numeric.grid_probs, mapping, edges.size + 1)
    current = fold(current_fine, mapping, edges.size + 1)
    labels = [f"below {_number(edges[0])}"]
    integral = numeric.kind is FeatureKind.INTEGRAL
    labels += [
        _range(float(edges[i]), float(edges[i + 1]), last=i == edges.size - 2, integral=integral)
        for i in range(edges.size - 1)
    ]
    labels.append(f"above {_number(edges[-1])}")
    keep = [i for i in range(len(labels)) if 0 < i < len(labels) - 1 or current[i] > 0]
    return [labels[i] for i in keep], base[keep], current[keep], note


def quantile_edges(numeric: NumericBaseline) -> FloatArray:
    """Edges from the baseline's fine grid that cut it into ``QUANTILE_BUCKETS`` equal shares (ties merged)."""
    below = np.cumsum(numeric.grid_probs)[:-1]  # share of the baseline below each grid edge
    targets = np.arange(1, QUANTILE_BUCKETS) / QUANTILE_BUCKETS
    inner = np.searchsorted(below - 1e-12, targets, side="left")
    chosen = {0, numeric.grid.size - 1, *(int(i) for i in inner if 0 < i < numeric.grid.size - 1)}
    return numeric.grid[sorted(chosen)]


def _number(value: float) -> str:
    return f"{value:.4g}"


def _range(low: float, high: float, *, last: bool, integral: bool) -> str:
    """A bucket ``[low, high)`` (``[low, high]`` when last) in words; for whole numbers, the numbers it holds."""
    if integral:
        first, final = math.ceil(low), math.floor(high) if last else math.ceil(high) - 1
        if first == final:
            return str(first)
        if first < final:
            return f"{first} to {final}"
    return f"{_number(low)} to {_number(high)}" if last else f"{_number(low)} to under {_number(high)}"


def _categorical_section(
    drift: FeatureDrift, acc: CategoricalAccumulator, baseline: Baseline, config: JobConfig
) -> str:
    header = f"<section><h2>{_e(drift.name)} <small>(String)</small> {_verdict(drift)}</h2>"
    header += _verdict_text(drift, config)
    categorical = baseline.categorical.get(drift.name)
    base_counts = categorical.counts if categorical is not None else {}
    base_total = sum(base_counts.values()) or 1.0
    current = acc.final_counts()
    current_total = acc.present or 1
    values = sorted(
        set(base_counts) | set(current),
        key=lambda v: (-max(base_counts.get(v, 0.0) / base_total, current.get(v, 0) / current_total), v),
    )
    shown, rest = values[:_TOP_VALUES], values[_TOP_VALUES:]
    base = [base_counts.get(v, 0.0) / base_total for v in shown]
    cur = [current.get(v, 0) / current_total for v in shown]
    labels = list(shown)
    other = acc.final_other + sum(current.get(v, 0) for v in rest)
    if rest or other:
        labels.append("(all other values)")
        base.append(sum(base_counts.get(v, 0.0) for v in rest) / base_total)
        cur.append(other / current_total)
    new = ", ".join(f"{v} ({c})" for v, c in drift.new_values[:10]) or "none"
    info = (
        f"<p>count {acc.present}, missing {acc.missing}; values outside the baseline domain: {_e(new)}</p>"
        if drift.outside_domain_fraction is not None
        else f"<p>count {acc.present}, missing {acc.missing}</p>"
    )
    chart = bar_chart(labels, np.asarray(base, dtype=np.float64), np.asarray(cur, dtype=np.float64))
    return f"{header}{info}{_drift_table(drift)}{chart}</section>"


def bar_chart(labels: Sequence[str], baseline: FloatArray, current: FloatArray) -> str:
    """Horizontal grouped bars of two share vectors over the same labels; every label is drawn in full."""
    label_w = max((len(label) for label in labels), default=1) * _CHAR_PX + 12
    top = max(float(np.max(baseline, initial=0.0)), float(np.max(current, initial=0.0)), 1e-12)
    width, height = label_w + _BAR_AREA + 60, 22 + _ROW * max(len(labels), 1)
    shapes = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height}' role='img'>",
        _legend(label_w),
    ]
    for i, label in enumerate(labels):
        y = 22 + i * _ROW
        shares = ((0, float(baseline[i]), BASELINE_COLOUR), (10, float(current[i]), CURRENT_COLOUR))
        group = (
            f"<g class='bar' data-label='{_e(label)}' data-baseline='{float(baseline[i]):.6f}' "
            f"data-current='{float(current[i]):.6f}'>"
            f"<text x='{label_w - 6:.1f}' y='{y + 13}' text-anchor='end'>{_e(label)}</text>"
        )
        for offset, share, colour in shares:
            length = _BAR_AREA * share / top
            group += (
                f"<rect x='{label_w:.1f}' y='{y + 2 + offset}' width='{length:.1f}' height='9' fill='{colour}'>"
                f"<title>{_e(label)}: {share:.1%}</title></rect>"
                f"<text x='{label_w + length + 4:.1f}' y='{y + 10 + offset}'>{share:.1%}</text>"
            )
        shapes.append(group + "</g>")
    return "".join(shapes) + "</svg>"


def _legend(x: float) -> str:
    return (
        f"<rect x='{x:.1f}' y='4' width='10' height='10' fill='{BASELINE_COLOUR}'/>"
        f"<text x='{x + 14:.1f}' y='13'>baseline</text>"
        f"<rect x='{x + 70:.1f}' y='4' width='10' height='10' fill='{CURRENT_COLOUR}'/>"
        f"<text x='{x + 84:.1f}' y='13'>current</text>"
    )


def cdf_chart(edges: FloatArray, baseline_cdf: FloatArray, current_cdf: FloatArray) -> str:
    """Both CDFs as step lines against the fine-grid edges (evenly spaced, labelled at the ends)."""
    plot_w, plot_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    # cumulative bin i+1 is P(X < edges[i+1]) etc.; plot P(X <= edge_j) for j = 0..len-1 via bins 0..len-1.
    points = edges.size

    def line(cdf: FloatArray, colour: str) -> str:
        coords = " ".join(
            f"{_PAD + plot_w * j / max(points - 1, 1):.1f},{_PAD + plot_h * (1 - float(cdf[j + 1])):.1f}"
            for j in range(points)
        )
        return f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{coords}'/>"

    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{_HEIGHT}' role='img'>"
        f"{_legend(_PAD)}<text x='{_PAD + 180}' y='13'>share of records below each value</text>"
        f"{line(baseline_cdf, BASELINE_COLOUR)}{line(current_cdf, CURRENT_COLOUR)}"
        f"<text x='{_PAD}' y='{_HEIGHT - _PAD + 12}'>{edges[0]:.4g}</text>"
        f"<text x='{_PAD + plot_w}' y='{_HEIGHT - _PAD + 12}' text-anchor='end'>{edges[-1]:.4g}</text></svg>"
    )

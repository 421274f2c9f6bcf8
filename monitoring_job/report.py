"""A self-contained HTML report: a summary, the violations, and per feature baseline-vs-current plots.

Plots are inline SVG written here (no plotting library in the processing image): for a numeric feature the
share of values per baseline KLL bucket (under/overflow added when the window has values outside the
baseline range) and the two CDFs on the fine grid, whose largest vertical gap is the drift distance; for a
string feature the share of each value (the 15 largest, the rest summed). Every text is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from monitor_stats.baseline import Baseline
from monitor_stats.binning import FloatArray, fold
from monitoring_job.compare import Evaluation, FeatureDrift
from monitoring_job.config import JobConfig
from monitoring_job.significance import probabilities
from monitoring_job.stats import CategoricalAccumulator, NumericAccumulator, WindowStatistics

BASELINE_COLOUR = "#4e79a7"
CURRENT_COLOUR = "#f28e2b"
_WIDTH, _HEIGHT, _PAD = 560, 180, 36
_TOP_VALUES = 15

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}
.drift{color:#b00020;font-weight:bold}.ok{color:#1b7f3b}.muted{color:#777}section{margin:1.5rem 0}
svg text{font-size:10px;fill:#333}
"""


def render_report(
    window: WindowStatistics, baseline: Baseline, evaluation: Evaluation, config: JobConfig, generated: datetime
) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Data quality: {_e(config.model_name)} ({_e(config.environment)})</title><style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>Data quality and drift: {_e(config.model_name)}</h1>",
        _summary(window, evaluation, config, generated),
        _violations(evaluation),
    ]
    for feature in config.monitored:
        drift = evaluation.features[feature.name]
        accumulator = window.features[feature.name]
        if isinstance(accumulator, NumericAccumulator):
            parts.append(_numeric_section(drift, accumulator, baseline))
        else:
            parts.append(_categorical_section(drift, accumulator, baseline))
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _summary(window: WindowStatistics, evaluation: Evaluation, config: JobConfig, generated: datetime) -> str:
    read = window.read
    drifted = ", ".join(evaluation.drifted) or "none"
    rows = [
        ("Endpoint", config.endpoint_name),
        ("Generated", generated.isoformat(timespec="seconds")),
        ("Capture files", read.files),
        ("Lines read", read.lines),
        ("Usable records", read.records),
        ("Quarantined lines", sum(read.bad_lines.values())),
        ("Blank lines", read.blank_lines),
        ("Violations", len(evaluation.violations)),
        ("Drifted features", drifted),
    ]
    body = "".join(f"<tr><th class='l'>{_e(k)}</th><td class='l'>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _violations(evaluation: Evaluation) -> str:
    if not evaluation.violations:
        return "<h2>Violations</h2><p class='ok'>None.</p>"
    rows = "".join(
        f"<tr><td class='l'>{_e(v.feature_name)}</td><td class='l'>{_e(v.constraint_check_type.value)}</td>"
        f"<td class='l'>{_e(v.description)}</td></tr>"
        for v in evaluation.violations
    )
    head = "<tr><th class='l'>Feature</th><th class='l'>Check</th><th class='l'>Description</th></tr>"
    return f"<h2>Violations</h2><table>{head}{rows}</table>"


def _verdict(drift: FeatureDrift) -> str:
    if drift.drifted:
        return "<span class='drift'>DRIFT</span>"
    if drift.compared:
        return "<span class='ok'>no drift</span>"
    return f"<span class='muted'>not compared: {_e(drift.note)}</span>"


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


def _numeric_section(drift: FeatureDrift, acc: NumericAccumulator, baseline: Baseline) -> str:
    header = f"<section><h2>{_e(drift.name)} <small>({_e(drift.kind)})</small> {_verdict(drift)}</h2>"
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
    edges = numeric.bucket_edges
    current = fold(current_fine, numeric.grid_to_bucket, edges.size + 1)
    labels = ["< min", *(_short(float(edges[i])) for i in range(edges.size - 1)), "> max"]
    keep = [i for i in range(len(labels)) if 0 < i < len(labels) - 1 or current[i] > 0]
    bars = bar_chart([labels[i] for i in keep], numeric.bucket_probs[keep], current[keep])
    cdf = cdf_chart(numeric.grid, np.cumsum(numeric.grid_probs), np.cumsum(current_fine))
    return f"{header}{stats}{_drift_table(drift)}{bars}{cdf}</section>"


def _categorical_section(drift: FeatureDrift, acc: CategoricalAccumulator, baseline: Baseline) -> str:
    header = f"<section><h2>{_e(drift.name)} <small>(String)</small> {_verdict(drift)}</h2>"
    categorical = baseline.categorical.get(drift.name)
    base_counts = categorical.counts if categorical is not None else {}
    base_total = sum(base_counts.values()) or 1.0
    current = acc.final_counts()
    current_total = acc.present or 1
    values = sorted(
        set(base_counts) | set(current),
        key=lambda v: -max(base_counts.get(v, 0.0) / base_total, current.get(v, 0) / current_total),
    )
    shown, rest = values[:_TOP_VALUES], values[_TOP_VALUES:]
    base = [base_counts.get(v, 0.0) / base_total for v in shown]
    cur = [current.get(v, 0) / current_total for v in shown]
    labels = list(shown)
    other = acc.final_other + sum(current.get(v, 0) for v in rest)
    if rest or other:
        labels.append("(other)")
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


def _short(value: float) -> str:
    """A bucket's lower bound in at most ~6 characters (``1.02e+03`` -> ``1.02k``)."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _legend(x: float) -> str:
    return (
        f"<rect x='{x}' y='4' width='10' height='10' fill='{BASELINE_COLOUR}'/>"
        f"<text x='{x + 14}' y='13'>baseline</text>"
        f"<rect x='{x + 70}' y='4' width='10' height='10' fill='{CURRENT_COLOUR}'/>"
        f"<text x='{x + 84}' y='13'>current</text>"
    )


def bar_chart(labels: Sequence[str], baseline: FloatArray, current: FloatArray) -> str:
    """Grouped bars of two probability vectors over the same labels."""
    count = max(len(labels), 1)
    top = max(float(np.max(baseline, initial=0.0)), float(np.max(current, initial=0.0)), 1e-12)
    plot_w, plot_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    slot = plot_w / count
    bar = max(slot * 0.4, 1.0)
    fits = max(3, int(slot / 6.5))  # characters of a label that fit under its bars at 10px
    shapes = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{_HEIGHT}' role='img'>"]
    shapes.append(_legend(_PAD))
    shapes.append(f"<text x='2' y='{_PAD + 4}'>{top:.0%}</text>")
    for i, label in enumerate(labels):
        x = _PAD + i * slot
        for offset, value, colour in ((0.1, baseline[i], BASELINE_COLOUR), (0.5, current[i], CURRENT_COLOUR)):
            height = plot_h * float(value) / top
            y = _PAD + plot_h - height
            shapes.append(
                f"<rect x='{x + slot * offset:.1f}' y='{y:.1f}' width='{bar:.1f}' height='{height:.1f}' "
                f"fill='{colour}'><title>{_e(label)}: {float(value):.2%}</title></rect>"
            )
        shapes.append(
            f"<text x='{x + slot / 2:.1f}' y='{_HEIGHT - _PAD + 12}' text-anchor='middle'>{_e(label[:fits])}</text>"
        )
    shapes.append(
        f"<line x1='{_PAD}' y1='{_PAD + plot_h}' x2='{_PAD + plot_w}' y2='{_PAD + plot_h}' stroke='#999'/></svg>"
    )
    return "".join(shapes)


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
        f"{_legend(_PAD)}<text x='{_PAD + 180}' y='13'>CDF; x axis: baseline percentiles (baseline = diagonal)</text>"
        f"{line(baseline_cdf, BASELINE_COLOUR)}{line(current_cdf, CURRENT_COLOUR)}"
        f"<text x='{_PAD}' y='{_HEIGHT - _PAD + 12}'>{edges[0]:.3g}</text>"
        f"<text x='{_PAD + plot_w}' y='{_HEIGHT - _PAD + 12}' text-anchor='end'>{edges[-1]:.3g}</text></svg>"
    )

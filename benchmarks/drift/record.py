"""The drift benchmark's record: RESULTS.md and its README section, rendered from results.json alone (run.py)."""

from __future__ import annotations

from benchmarks.records import Raw, environment_paragraph, median

TITLE = "Drift job benchmark"

LABELS = {
    "floor": "JSON-decode floor (orjson)",
    "floor_json": "JSON-decode floor (stdlib json)",
    "baseline": "our baseline from the reference sample",
    "ours": "our job, 1 process",
    "ours_auto": "our job, its default: 1 reader process per vCPU",
    "evidently": "Evidently DataDriftPreset (profiles the reference in its run)",
    "ours_large": "our job, 1 process, {scale}x records",
}
SPEED_TARGET = 20.0  # Evidently wall / ours wall
MEMORY_TARGET = 0.25  # ours peak RSS / Evidently's
SCALING_TARGET = 1.2  # ours peak RSS at scale x the records / at 1x
FLOOR_TARGET = 3.0  # ours wall / JSON-decode floor wall


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


class _Medians:
    def __init__(self, raw: Raw) -> None:
        self.samples = raw["samples"]

    def __call__(self, key: str, field: str = "wall_s") -> float:
        return median(self.samples[key], field)


def headlines(raw: Raw) -> list[tuple[str, float, str]]:
    """(comparison, Evidently wall / ours wall, target verdict) for both modes, without and with the baseline."""
    m = _Medians(raw)
    evidently, baseline = m("evidently"), m("baseline")
    rows = []
    for key, mode in (("ours", "one process each (like for like)"), ("ours_auto", "each tool's default")):
        ratio = evidently / m(key)
        target = f">= {SPEED_TARGET:g}: {_verdict(ratio >= SPEED_TARGET)}"
        rows.append((f"{mode}, our baseline precomputed", ratio, target))
        with_baseline = evidently / (m(key) + baseline)
        rows.append((f"{mode}, ours also building its baseline", with_baseline, "(info)"))
    return rows


def render(raw: Raw) -> str:
    m = _Medians(raw)
    parameters, versions, flagged = raw["parameters"], raw["versions"], raw["flagged"]
    scale, runs = parameters["scale"], parameters["runs"]
    sample_word = f"the median of {runs} runs" if runs > 1 else "one run"
    headline_rows = "\n".join(f"| {name} | {ratio:.2f} | {target} |" for name, ratio, target in headlines(raw))
    rows = "\n".join(
        f"| {LABELS[key].format(scale=scale)} | {m(key):.2f} | {m(key, 'cpu_s'):.2f} | "
        f"{m(key, 'peak_rss_mb'):.0f} | {m(key, 'other_cpu_s') / m(key):.2f} |"
        for key in raw["samples"]
    )
    checks = [
        ("ours peak RSS / Evidently peak RSS", m("ours", "peak_rss_mb") / m("evidently", "peak_rss_mb"), MEMORY_TARGET),
        (
            "ours peak RSS, 1 reader process per vCPU / Evidently",
            m("ours_auto", "peak_rss_mb") / m("evidently", "peak_rss_mb"),
            MEMORY_TARGET,
        ),
        (
            f"ours peak RSS at {scale}x / at 1x",
            m("ours_large", "peak_rss_mb") / m("ours", "peak_rss_mb"),
            SCALING_TARGET,
        ),
        ("ours wall / JSON-decode floor wall (1 process)", m("ours") / m("floor"), FLOOR_TARGET),
        ("ours wall / JSON-decode floor wall (1 reader process per vCPU)", m("ours_auto") / m("floor"), FLOOR_TARGET),
    ]
    check_rows = "\n".join(
        f"| {name} | {value:.2f} | <= {target:g} | {_verdict(value <= target)} |" for name, value, target in checks
    )
    info_rows = "\n".join(
        f"| {name} | {value:.2f} |"
        for name, value in (
            ("Evidently CPU / ours CPU (1 process)", m("evidently", "cpu_s") / m("ours", "cpu_s")),
            (
                "Evidently CPU / ours CPU including the baseline (1 process)",
                m("evidently", "cpu_s") / (m("ours", "cpu_s") + m("baseline", "cpu_s")),
            ),
            ("ours CPU / JSON-decode floor CPU (1 process)", m("ours", "cpu_s") / m("floor", "cpu_s")),
        )
    )
    evidently_flagged = flagged["evidently"]
    ours_versions = ", ".join(f"{k}=={v}" for k, v in sorted(versions["ours"].items()))
    peer_versions = ", ".join(f"{k}=={v}" for k, v in sorted(versions["evidently"].items()))
    return f"""Command: `{raw["command"]}` (`$EVIDENTLY_PYTHON`: the interpreter of a separate venv with Evidently).

{environment_paragraph(raw["environment"])}

Data: {parameters["records"]:,} capture lines ({parameters["records"] * scale:,} for the memory check),
{parameters["numeric_features"]} numeric + {parameters["categorical_features"]} categorical features and the score,
CSV payloads, {parameters["lines_per_file"]:,} lines per file; features {", ".join(parameters["drifted"])} drifted;
reference sample {parameters["reference_rows"]:,} rows. Each number is {sample_word}.

Versions: ours {ours_versions}; peer {peer_versions}.

## Headlines: Evidently wall time / ours

Evidently profiles the reference inside every run. Our job reads a baseline that the pipeline's Baseline step
computes once per model version from the same kind of sample; "also building its baseline" adds the time of
that computation from the same reference Evidently reads ({m("baseline"):.2f} s wall, {m("baseline", "cpu_s"):.2f} s
CPU, once per model version).

| comparison | Evidently / ours | target |
|---|---|---|
{headline_rows}

## Measurements

Wall and CPU time (the process tree's user + sys) in seconds; peak memory of the process tree; "others" is how
many cores other processes kept busy on average while the row ran (the machine is shared, so a row with
others above zero had less than the whole machine).

| run | wall (s) | CPU (s) | peak RSS (MB) | others (cores) |
|---|---|---|---|---|
{rows}

| ratio | value | target | |
|---|---|---|---|
{check_rows}

| ratio (information) | value |
|---|---|
{info_rows}

## Verdicts

Ours flagged {", ".join(flagged["ours"]) or "nothing"}; Evidently counted
{evidently_flagged["drifted_columns_count"]} drifted columns ({", ".join(evidently_flagged["drifted"]) or "none"},
its default distance tests at their thresholds).
"""


def summary(raw: Raw) -> str:
    (like, like_baseline, default, default_baseline) = (ratio for _, ratio, _ in headlines(raw))
    m = _Medians(raw)
    recorded, records = raw["environment"]["recorded_at"], raw["parameters"]["records"]
    return f"""Recorded {recorded} on {records:,} capture lines: Evidently's wall time over ours is
{like:.1f}x in one process each and {default:.1f}x with each tool's default (ours: one reader process per vCPU);
{like_baseline:.1f}x and {default_baseline:.1f}x when ours also builds its baseline from the same reference
({m("baseline"):.1f} s), which Evidently does in every run. Peak memory {m("ours", "peak_rss_mb"):.0f} MB against
{m("evidently", "peak_rss_mb"):.0f} MB. Details, machine load and targets: `drift/RESULTS.md`."""

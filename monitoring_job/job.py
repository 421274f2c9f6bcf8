"""The two steps of a run, ``analyze`` and ``merge``, and what they write.

Output layout (the Processing job's output directory, uploaded to S3 at the end of the job):

- ``analyze``: ``statistics.json``, ``constraint_violations.json`` (Model Monitor formats), ``drift_report.json``
  (every distance, p-value and verdict), ``report.html``, ``metrics.jsonl`` (CloudWatch EMF lines),
  ``shard_stats.json`` (the mergeable accumulators) and ``quarantine/<reason>.jsonl``;
- ``analyze --shard-output-only``: only ``shards/<shard id>/shard_stats.json`` and
  ``shards/<shard id>/quarantine/``, so instances writing to the same S3 prefix never overwrite each other
  (the shard id is the instance's ``current_host`` from ``/opt/ml/config/resourceconfig.json``);
- ``merge``: adds up every ``shard_stats.json`` found under the shard directories, then writes what
  ``analyze`` writes (quarantined lines stay in the shard folders).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor_stats.baseline import Baseline, load_baseline
from monitor_stats.schema import validate_statistics, validate_violations
from monitoring_job.capture import QUARANTINE_DIR, CaptureReader, Quarantine, capture_files
from monitoring_job.compare import Evaluation, evaluate
from monitoring_job.config import JobConfig, load_job_config
from monitoring_job.errors import JobError, ShardError
from monitoring_job.formats import drift_document, statistics_document, violations_document
from monitoring_job.metrics import CloudWatchClient, emf_lines, metric_points, publish, put_metric_data_batches
from monitoring_job.report import render_report
from monitoring_job.stats import WindowStatistics, new_window, window_from_json

SHARD_STATS_FILE = "shard_stats.json"
STATISTICS_OUT = "statistics.json"
VIOLATIONS_OUT = "constraint_violations.json"
DRIFT_OUT = "drift_report.json"
REPORT_OUT = "report.html"
METRICS_OUT = "metrics.jsonl"
RESOURCE_CONFIG = Path("/opt/ml/config/resourceconfig.json")
MIN_BYTES_PER_WORKER = 32 * 1024 * 1024  # below this a second process costs more than it saves

ClientFactory = Callable[[], CloudWatchClient]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a finished analysis found (None fields: a shard-only run, which judges nothing)."""

    records: int
    violations: int | None
    drifted: tuple[str, ...] | None
    metrics_published: int


@dataclass(frozen=True, kw_only=True)
class Publishing:
    enabled: bool
    client_factory: ClientFactory | None = None
    emf_to_stdout: bool = False


def analyze(
    *,
    input_dir: Path,
    baseline_dir: Path,
    config_path: Path,
    output_dir: Path,
    shard_only: bool = False,
    shard_id: str | None = None,
    workers: int = 0,
    publishing: Publishing,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    config, baseline = load_job_config(config_path), load_baseline(baseline_dir)
    if not input_dir.is_dir():
        raise JobError(f"input directory {input_dir} does not exist (expected the data-capture files under it)")
    target = output_dir / "shards" / (shard_id or current_host()) if shard_only else output_dir
    window = read_window(input_dir, config, baseline, quarantine_dir=target / QUARANTINE_DIR, workers=workers)
    _write_json(target / SHARD_STATS_FILE, window.to_json())
    if shard_only:
        return Outcome(records=window.read.records, violations=None, drifted=None, metrics_published=0)
    return finalize(window, baseline, config, output_dir, publishing=publishing, generated=now())


def read_window(
    input_dir: Path, config: JobConfig, baseline: Baseline, *, quarantine_dir: Path, workers: int = 0
) -> WindowStatistics:
    """Read every capture file, in ``workers`` processes when the window is big enough (0 = one per CPU).

    Each process reads its own files into its own accumulators (the same shard merge as across instances)
    and its own quarantine part files, which are then concatenated in order.
    """
    started = time.perf_counter()
    groups = plan_workers(capture_files(input_dir), workers)
    if len(groups) <= 1:
        window = _read_part(groups[0] if groups else [], _Part(input_dir, config, baseline, quarantine_dir, ""))
    else:
        window = new_window(config, baseline)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ProcessPoolExecutor(max_workers=len(groups), mp_context=context) as pool:
            parts = [
                pool.submit(_read_part_json, group, _Part(input_dir, config, baseline, quarantine_dir, f".part{k}"))
                for k, group in enumerate(groups)
            ]
            for k, part in enumerate(parts):
                window.merge(
                    window_from_json(part.result(), config, baseline, where=f"worker {k}"), where=f"worker {k}"
                )
        _join_quarantine_parts(quarantine_dir, len(groups))
    read = window.read
    _log(
        f"read {read.files} files, {read.lines} lines, {read.records} records, "
        f"{sum(read.bad_lines.values())} quarantined in {time.perf_counter() - started:.1f}s "
        f"({max(len(groups), 1)} process(es))"
    )
    return window


def plan_workers(files: Sequence[Path], workers: int) -> list[list[Path]]:
    """Files split into balanced groups (largest first, each to the lightest group); one group if small."""
    if not files:
        return []
    sizes = {path: path.stat().st_size for path in files}
    wanted = workers if workers > 0 else _usable_cpus()
    by_volume = max(1, sum(sizes.values()) // MIN_BYTES_PER_WORKER)
    count = max(1, min(wanted, len(files), by_volume))
    groups: list[list[Path]] = [[] for _ in range(count)]
    loads = [0] * count
    for path in sorted(files, key=lambda p: (-sizes[p], str(p))):
        lightest = loads.index(min(loads))
        groups[lightest].append(path)
        loads[lightest] += sizes[path]
    return [sorted(group) for group in groups]


@dataclass(frozen=True)
class _Part:
    """What a reader process needs besides its files (picklable, sent to worker processes)."""

    root: Path
    config: JobConfig
    baseline: Baseline
    quarantine_dir: Path
    suffix: str


def _usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def _read_part(files: list[Path], part: _Part) -> WindowStatistics:
    window = new_window(part.config, part.baseline)
    quarantine = Quarantine(part.quarantine_dir, part.suffix)
    try:
        reader = CaptureReader(part.config, sink=window.add, quarantine=quarantine, root=part.root)
        window.read = reader.read_all(files)
    finally:
        quarantine.close()
    return window


def _read_part_json(files: list[Path], part: _Part) -> dict[str, Any]:
    return _read_part(files, part).to_json()


def _join_quarantine_parts(directory: Path, parts: int) -> None:
    if not directory.is_dir():
        return
    reasons = sorted({p.name.split(".part")[0] for p in directory.glob("*.part*.jsonl")})
    for reason in reasons:
        with (directory / f"{reason}.jsonl").open("ab") as target:
            for k in range(parts):
                part = directory / f"{reason}.part{k}.jsonl"
                if part.exists():
                    with part.open("rb") as source:
                        shutil.copyfileobj(source, target)
                    part.unlink()


def merge(
    *,
    shard_dirs: Sequence[Path],
    baseline_dir: Path,
    config_path: Path,
    output_dir: Path,
    publishing: Publishing,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    config, baseline = load_job_config(config_path), load_baseline(baseline_dir)
    files = sorted({path for d in shard_dirs for path in _shard_files(d)})
    if not files:
        raise ShardError(", ".join(map(str, shard_dirs)), f"no {SHARD_STATS_FILE} found")
    window = new_window(config, baseline)
    for path in files:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ShardError(str(path), f"cannot be read ({error})") from error
        window.merge(window_from_json(raw, config, baseline, where=str(path)), where=str(path))
    _log(f"merged {len(files)} shards: {window.read.records} records")
    return finalize(window, baseline, config, output_dir, publishing=publishing, generated=now())


def _shard_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ShardError(str(directory), "is not a directory")
    return sorted(directory.rglob(SHARD_STATS_FILE))


def finalize(
    window: WindowStatistics,
    baseline: Baseline,
    config: JobConfig,
    output_dir: Path,
    *,
    publishing: Publishing,
    generated: datetime,
) -> Outcome:
    """Compare, then write every report and publish the metrics."""
    evaluation = evaluate(window, baseline, config)
    statistics, violations = statistics_document(window, baseline, config), violations_document(evaluation)
    problems = validate_statistics(statistics) + validate_violations(violations)
    if problems:  # our own output must conform; anything else is a bug worth failing loudly on
        raise JobError(f"generated reports do not match the Model Monitor schema: {problems[:3]}")
    _write_json(output_dir / STATISTICS_OUT, statistics)
    _write_json(output_dir / VIOLATIONS_OUT, violations)
    _write_json(output_dir / DRIFT_OUT, drift_document(window, evaluation, config))
    _write_text(output_dir / REPORT_OUT, render_report(window, baseline, evaluation, config, generated))
    published = _metrics(
        window,
        evaluation,
        config,
        emit=baseline.monitoring.emit_metrics,
        output_dir=output_dir,
        publishing=publishing,
        generated=generated,
    )
    _log(f"{len(evaluation.violations)} violations; drifted: {', '.join(evaluation.drifted) or 'none'}")
    return Outcome(
        records=window.read.records,
        violations=len(evaluation.violations),
        drifted=tuple(evaluation.drifted),
        metrics_published=published,
    )


def _metrics(
    window: WindowStatistics,
    evaluation: Evaluation,
    config: JobConfig,
    *,
    emit: bool,
    output_dir: Path,
    publishing: Publishing,
    generated: datetime,
) -> int:
    points = metric_points(window, evaluation, config)
    lines = emf_lines(points, config.metrics.namespace, generated)
    _write_text(output_dir / METRICS_OUT, "".join(line + "\n" for line in lines))
    if publishing.emf_to_stdout:
        for line in lines:
            print(line)
    if not (publishing.enabled and config.metrics.publish and emit):
        return 0
    if publishing.client_factory is None:
        raise JobError("metrics publishing is enabled but no CloudWatch client is available")
    client = publishing.client_factory()
    return publish(put_metric_data_batches(points, config.metrics.namespace, generated), client)


def current_host() -> str:
    """This instance's name in a multi-instance Processing job (``algo-1``, ...), else ``local``."""
    try:
        host = json.loads(RESOURCE_CONFIG.read_text(encoding="utf-8")).get("current_host")
    except (OSError, ValueError, AttributeError):
        return "local"
    return str(host) if host else "local"


def _write_json(path: Path, document: dict[str, Any]) -> None:
    _write_text(path, json.dumps(document, indent=1) + "\n")


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise JobError(f"cannot write {path} ({error.strerror or error})") from error


def _log(message: str) -> None:
    print(f"monitoring_job: {message}", file=sys.stderr)

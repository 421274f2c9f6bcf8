"""Measuring a command, and describing the machine it ran on, for the benchmark records.

``measure`` runs a command in its own process and returns its wall time (``perf_counter``), its CPU time (user +
sys of the whole process tree, from ``os.wait4``'s rusage), its peak memory and how busy the rest of the machine
was meanwhile:

- peak memory is sampled from /proc every 5 ms over the process tree (jsii runs the CDK in a Node.js child, the
  drift job forks readers): the larger of the peak summed RSS and the sum of each process's own peak (VmHWM),
  an upper bound when several processes overlap. ``ru_maxrss`` is not used: a forked child inherits its
  parent's high-water mark, so a small child of a large runner would report the runner's size.
- other processes' CPU is the machine's busy time in /proc/stat during the run minus the command's own CPU
  time and this process's (the sampler): the work of others that competed for the cores (the machine is
  shared).

``environment`` is what every record states about the machine: CPU count and model, memory, kernel, Python,
the commit measured (and whether the working tree had changes), and the load average.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    other_cpu_s: float  # CPU time the rest of the machine used during the run
    load_1m: float  # the 1-minute load average when the run started
    stdout: str

    def raw(self) -> dict[str, float]:
        """The numbers as stored in a record's results.json (rounded to what a record can mean)."""
        values = asdict(self)
        del values["stdout"]
        return {key: round(value, 4) for key, value in values.items()}


def median(samples: Sequence[Measurement]) -> Measurement:
    """Each number's median over ``samples`` (the output of the first)."""
    return Measurement(
        wall_s=statistics.median(s.wall_s for s in samples),
        cpu_s=statistics.median(s.cpu_s for s in samples),
        peak_rss_mb=statistics.median(s.peak_rss_mb for s in samples),
        other_cpu_s=statistics.median(s.other_cpu_s for s in samples),
        load_1m=statistics.median(s.load_1m for s in samples),
        stdout=samples[0].stdout,
    )


def _status_kb(status: str, key: str) -> int:
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith(key)), 0)


class TreeMemory:
    """Samples a process tree from /proc: the peak of the summed RSS, and each process's own peak (VmHWM)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_sum_kb = 0
        self.hwm_kb: dict[int, int] = {}

    def sample(self) -> None:
        total, stack = 0, [self.root]
        while stack:
            pid = stack.pop()
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            if _status_kb(status, "VmRSS:") == 0:  # a zombie waiting to be reaped
                continue
            total += _status_kb(status, "VmRSS:")
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), _status_kb(status, "VmHWM:"))
            stack.extend(int(c) for c in children)
        self.peak_sum_kb = max(self.peak_sum_kb, total)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_sum_kb, sum(self.hwm_kb.values())) / 1024


def busy_cpu_s() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


def _own_cpu_s() -> float:
    """CPU time of this process (the memory sampler runs here), so that it does not count as others' work."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    command: Sequence[str],
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    ok: Sequence[int] = (0,),
    label: str = "",
) -> Measurement:
    """Run ``command`` to completion and measure it; an exit status not in ``ok`` raises with its stderr."""
    if label:
        print(f"  {label}: {' '.join(command)}", flush=True)
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before, own_before = busy_cpu_s(), _own_cpu_s()
        start = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        memory = TreeMemory(process.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                memory.sample()
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        busy = busy_cpu_s() - busy_before - (_own_cpu_s() - own_before)
        done.set()
        sampler.join()
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {stderr[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    result = Measurement(
        wall_s=wall,
        cpu_s=cpu,
        peak_rss_mb=memory.peak_mb,
        other_cpu_s=max(0.0, busy - cpu),
        load_1m=load,
        stdout=stdout.strip(),
    )
    if label:
        print(
            f"    wall {wall:.2f}s cpu {cpu:.2f}s peak {result.peak_rss_mb:.0f} MB, "
            f"others {result.other_cpu_s:.2f} CPU-s, exit {code}",
            flush=True,
        )
    return result


def git_state() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (records being rewritten excepted)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    records = ("RESULTS.md", "results.json", "benchmarks/README.md")
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].endswith(records)
    ]
    return {"commit": git("rev-parse", "--short=12", "HEAD").strip(), "uncommitted_changes": sorted(changed)}


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "architecture": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _session_cpu_s() -> float:
    """CPU time of this process and of every child it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Session:
    """One benchmark invocation: when it started, the load then and at its end, and how busy others kept the
    machine meanwhile (its busy CPU time minus this benchmark's own and its children's, per second of the run)."""

    def __init__(self) -> None:
        self.started = datetime.now(UTC)
        self.load_start = os.getloadavg()
        self.busy_start, self.own_start = busy_cpu_s(), _session_cpu_s()
        self.wall_start = time.perf_counter()

    def environment(self) -> dict[str, Any]:
        """The record's ``environment`` block, taken when the measurements are done."""
        wall = time.perf_counter() - self.wall_start
        others = busy_cpu_s() - self.busy_start - (_session_cpu_s() - self.own_start)
        return {
            "recorded_at": self.started.isoformat(timespec="seconds"),
            "duration_s": round(wall, 1),
            "others_cores": round(max(0.0, others) / wall, 2),
            "machine": machine(),
            "load_average_start": [round(v, 2) for v in self.load_start],
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
            **git_state(),
        }


def python_command(script: str, argv: Sequence[str]) -> str:
    """The command line a record states: the repository's interpreter and the script, with the arguments given."""
    return " ".join([".venv/bin/python", script, *argv])


def project_env() -> dict[str, str]:
    """The environment a benchmark's child processes get: the pinned Node first on PATH, the repository importable."""
    return {
        "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "CDK_DISABLE_VERSION_CHECK": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


PYTHON = sys.executable

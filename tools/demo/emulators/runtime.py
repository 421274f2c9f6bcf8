"""What every emulator shares: where the emulated AWS is, a compressible clock, and moto's state.

Real: the emulators reach AWS through boto3 clients, against the moto server's URL (``Aws.endpoint_url``) or,
in tests, moto's in-process mock (``endpoint_url=None``), exactly as a service's data plane would.

Emulated: a few states moto's API cannot set (an endpoint ``Updating``, a pipeline execution ``Executing``, a
job ``InProgress`` or ``Failed`` with a reason) are written into moto's in-memory backend (``moto_backend``).
That only works when the emulator runs in the moto server's process, as ``tools/demo/server`` starts it.

``Clock``: durations (guardrail waits, bakes, polling) are divided by ``speedup``; timestamps stay real UTC
time. ``DemoClock`` (the demo server's one clock): the same compressed waits, but the time they skip is not
lost: while anything waits on it, its time runs ``speedup`` times faster than the wall clock, so a 600 s bake
takes 60 s at 10x and the clock reads 600 s later at its end; ``advance`` moves it ahead at once (days between
the story's runs). Everything that stamps or reads time in the emulated world reads it (state machines, endpoint
metrics and captures, alarm evaluation, the Lambda handlers' ``datetime``), so a compressed 10-minute bake sees
10 minutes of metrics, which are the requests sent during its 10 real seconds. What it could hide: a step that
is too slow in real time looks instant; work done in real time while something waits (requests, a Lambda) is
stamped as if spread over the compressed minutes, so per-minute rates are lower than the real ones (the story
sends enough requests per bake for the deployed ``min_invocations``). ``SimulatedClock``: time that moves only
when a single driver sleeps (``sleep`` returns at once), so a test steps a deployment, its traffic and the
alarms minute by minute with the timestamps a real run would have.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import boto3

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
_SESSION_LOCK = threading.Lock()  # a boto3 session is not thread-safe; its clients are
_SESSIONS: list[boto3.session.Session] = []


@dataclass(frozen=True)
class Clock:
    """Real UTC time; ``sleep(s)`` waits ``s / speedup`` real seconds (a 600 s bake at 1000x takes 0.6 s)."""

    speedup: float = 1.0

    def __post_init__(self) -> None:
        if not self.speedup >= 1.0:
            raise ValueError(f"clock speedup {self.speedup} must be at least 1")

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speedup)


class DemoClock:
    """Real UTC time plus an offset that only grows: by ``advance``, and while any ``sleep`` is running, when the
    clock runs ``speedup`` times faster than real time (so a sleep of ``s`` lasts ``s / speedup`` real seconds and
    the clock reads at least ``s`` later at its end). Thread-safe; overlapping sleeps do not add up."""

    def __init__(self, *, speedup: float) -> None:
        if not speedup >= 1.0:
            raise ValueError(f"clock speedup {speedup} must be at least 1")
        self.speedup = speedup
        self._lock = threading.Lock()
        self._offset = 0.0  # seconds ahead of real time, not counting the running sleeps
        self._sleeping = 0
        self._since = 0.0  # time.monotonic() when the running sleeps began

    def _offset_now(self) -> float:
        flying = (time.monotonic() - self._since) * (self.speedup - 1) if self._sleeping else 0.0
        return self._offset + flying

    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset_now()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + timedelta(seconds=self._offset_now())

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` ahead at once; returns its new offset from real time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves ahead, not by {seconds} s")
        with self._lock:
            self._offset += seconds
            return self._offset_now()

    def sleep(self, seconds: float, *, stop: threading.Event | None = None) -> None:
        """Wait until the clock is ``seconds`` later (``seconds / speedup`` real seconds; ``stop`` ends it early)."""
        if seconds <= 0:
            return
        with self._lock:
            if not self._sleeping:
                self._since = time.monotonic()
            self._sleeping += 1
        try:
            (stop or threading.Event()).wait(seconds / self.speedup)
        finally:
            with self._lock:
                self._sleeping -= 1
                if not self._sleeping:
                    self._offset += (time.monotonic() - self._since) * (self.speedup - 1)


class Ticking(Protocol):
    """What the emulators need of a clock."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SimulatedClock:
    """Time that advances only by ``sleep`` (which returns at once): deterministic stepping for one driver."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a simulated clock starts at an aware UTC time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep {seconds} s")
        with self._lock:
            self._now += timedelta(seconds=seconds)


@dataclass
class Aws:
    """Boto3 clients against the emulator. ``endpoint_url`` None: in-process (moto's mock), else the server."""

    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _account: str = field(default="", repr=False)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                with _SESSION_LOCK:  # one session: its loader parses each service model once per process
                    if not _SESSIONS:
                        _SESSIONS.append(boto3.session.Session())  # clients get region, endpoint, keys explicitly
                    self._clients[service] = _SESSIONS[0].client(
                        service, region_name=self.region, endpoint_url=self.endpoint_url, **_credentials()
                    )
            return self._clients[service]

    @property
    def account(self) -> str:
        if not self._account:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def container_environment(self) -> dict[str, str]:
        """What a job's container gets to reach AWS (its role's credentials, the region, the endpoint)."""
        if self.endpoint_url is None:
            raise EmulatorError(
                "a job container runs as its own process and needs the emulator's URL; start the moto server "
                "(tools/demo/server) or a ThreadedMotoServer and pass its URL as Aws.endpoint_url"
            )
        return {
            **{name.upper(): value for name, value in _credentials().items()},
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


class EmulatorError(RuntimeError):
    """The emulator cannot do what was asked (a setup problem, not a failure of the emulated work)."""


def _credentials() -> dict[str, str]:
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    found = {key.lower(): os.environ[key] for key in keys if os.environ.get(key)}
    if "aws_access_key_id" not in found:
        found = {key.lower(): value for key, value in FAKE_CREDENTIALS.items()}
    return found


def moto_backend(service: str, account: str, region: str) -> Any:
    """moto's in-memory backend of ``service`` (only in the process that runs moto)."""
    if "moto" not in sys.modules:
        raise EmulatorError(f"moto is not running in this process; cannot reach its {service} state")
    from moto.backends import get_backend  # noqa: PLC0415 - moto is a dev dependency, loaded with the server

    return get_backend(service)[account][region]  # type: ignore[call-overload]

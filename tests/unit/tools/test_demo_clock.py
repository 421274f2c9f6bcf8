"""The demo server's one clock: compressed waits whose skipped time is kept, and moves ahead."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tools.demo.emulators.runtime import DemoClock


def test_a_compressed_ten_minute_wait_takes_seconds_and_the_clock_reads_ten_minutes_later() -> None:
    clock = DemoClock(speedup=300.0)
    before, started = clock.now(), time.monotonic()

    clock.sleep(600)

    took = time.monotonic() - started
    assert 1.9 < took < 30
    assert timedelta(minutes=10) <= clock.now() - before < timedelta(minutes=10, seconds=took * 300 - 600 + 5)


def test_time_flies_only_while_something_waits_and_overlapping_waits_do_not_add_up() -> None:
    clock = DemoClock(speedup=100.0)
    time.sleep(0.3)
    assert clock.offset_seconds() == 0.0  # nobody waits: real time
    started = time.monotonic()
    sleepers = [threading.Thread(target=clock.sleep, args=(100,)) for _ in range(3)]
    for sleeper in sleepers:
        sleeper.start()
    for sleeper in sleepers:
        sleeper.join()
    took = time.monotonic() - started
    assert 99 <= clock.offset_seconds() <= took * 99 + 1  # three 100 s waits side by side: 100 s, not 300 s


def test_a_stopped_wait_ends_early_and_keeps_only_the_time_it_stood_for() -> None:
    clock = DemoClock(speedup=10.0)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    clock.sleep(3600, stop=stop)

    assert time.monotonic() - started < 10
    assert clock.offset_seconds() < 100


def test_the_clock_moves_ahead_only() -> None:
    clock = DemoClock(speedup=60.0)
    assert clock.advance(86400) == pytest.approx(86400)
    assert abs(clock.now() - (datetime.now(UTC) + timedelta(days=1))) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="only moves ahead"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="at least 1"):
        DemoClock(speedup=0.5)

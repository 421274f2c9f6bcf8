"""A retraining run's state transitions do not grow with the pipeline's duration; a polling design's do.

Runs the transitions benchmark's own code (benchmarks/transitions/loop.py) on the synthesized DEV state machine,
so the benchmark's record and this test measure the same thing: ours parked on the pipeline's task token for a
short and a longer (compressed) wait, and the polling variant of the same definition for a few polls.
"""

from __future__ import annotations

import pytest

from benchmarks.transitions.loop import POLL_CHOICE, POLL_DESCRIBE, POLL_WAIT, polls_for, run_ours, run_polling
from tests.support.sfn_offline import Resolved

LOOP = [POLL_WAIT, POLL_DESCRIBE, POLL_CHOICE]


def test_our_run_enters_the_same_states_however_long_the_pipeline_takes(resolved: Resolved) -> None:
    short = run_ours(resolved, minutes=0, seconds_per_minute=0.01)
    long = run_ours(resolved, minutes=120, seconds_per_minute=0.01)  # parked 1.2 s on the token

    assert long.states == short.states
    assert long.states.count("WaitForPipeline") == 1
    assert long.states[-1] == "End-not_better"
    assert long.lambda_invocations == short.lambda_invocations


@pytest.mark.parametrize("minutes", [1, 5])
def test_the_polling_design_enters_three_states_per_poll(resolved: Resolved, minutes: int) -> None:
    ours = run_ours(resolved, minutes=0, seconds_per_minute=0.01)
    polling = run_polling(resolved, minutes=minutes, poll_seconds=60)

    waiting = ours.states.index("WaitForPipeline")
    assert polling.polls == polls_for(minutes, 60) == minutes
    assert polling.states[:waiting] == ours.states[:waiting]
    assert list(polling.states[waiting : waiting + 3 * polling.polls]) == LOOP * polling.polls
    assert polling.states[waiting + 3 * polling.polls :] == ours.states[waiting + 1 :]
    assert polling.transitions == ours.transitions - 1 + 3 * polling.polls

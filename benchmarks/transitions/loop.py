"""Retraining runs executed offline, counting what a run is billed for: ours (the pipeline wait is a task token
completed by the pipeline's status event) against a polling design of the same loop.

Both run the SYNTHESIZED DEV retraining state machine in moto's Step Functions interpreter with the real handlers
in-process (tests/support/sfn_offline.py). The polling design is that definition with one change:
``WaitForPipeline`` becomes the usual loop of a Wait state, a DescribePipelineExecution SDK task and a Choice
that goes back to the Wait while the pipeline is Executing or Stopping and on to ``CheckRegistration`` otherwise
(which, as in ours, fails the run when the pipeline did not succeed).

Time is compressed, not skipped: in ours the pipeline ends ``minutes * seconds_per_minute`` real seconds after
the run parked on its token; in the polling design the k-th poll happens ``k * poll_seconds`` into the pipeline,
so a pipeline of ``minutes`` is still Executing at the first ``ceil(minutes * 60 / poll_seconds) - 1`` polls and
Succeeded at the next (the Wait states themselves wait 0 s here). Both runs end as "not better" (the candidate
is not registered), so what differs between them is only the pipeline wait.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from moto.sagemaker.models import SageMakerModelBackend

from tests.support.sfn_offline import Resolved, RetrainingWorld, retraining_world

WAIT_STATE = "WaitForPipeline"
POLL_WAIT, POLL_DESCRIBE, POLL_CHOICE = "PollWait", "DescribePipeline", "PipelineRunning?"
DESCRIBE_PIPELINE = "arn:aws:states:::aws-sdk:sagemaker:describePipelineExecution"


@dataclass(frozen=True)
class RunCount:
    """One executed run: the states it entered (each a billed transition) and the Lambda invocations it caused."""

    design: str
    pipeline_minutes: float
    states: tuple[str, ...]
    lambda_invocations: int
    polls: int

    @property
    def transitions(self) -> int:
        return len(self.states)


def polls_for(minutes: float, poll_seconds: int) -> int:
    """DescribePipelineExecution calls until a poll sees a pipeline of ``minutes`` finished (at least one)."""
    return max(1, math.ceil(minutes * 60 / poll_seconds))


def polling_definition(definition: dict[str, Any], *, wait_seconds: int = 0) -> dict[str, Any]:
    """``definition`` with the pipeline's task-token wait replaced by a poll loop (Wait, Describe, Choice)."""
    polling = copy.deepcopy(definition)
    states = polling["States"]
    token_wait = states.pop(WAIT_STATE)
    for state in states.values():  # whatever entered the wait now enters the loop
        if state.get("Next") == WAIT_STATE:
            state["Next"] = POLL_WAIT
    states[POLL_WAIT] = {"Type": "Wait", "Seconds": wait_seconds, "Next": POLL_DESCRIBE}
    states[POLL_DESCRIBE] = {
        "Type": "Task",
        "Resource": DESCRIBE_PIPELINE,
        "Parameters": {"PipelineExecutionArn.$": "$.pipeline.pipeline_execution_arn"},
        "ResultSelector": {"status.$": "$.PipelineExecutionStatus"},
        "ResultPath": token_wait["ResultPath"],
        "Catch": token_wait["Catch"],
        "Next": POLL_CHOICE,
    }
    status = f"{token_wait['ResultPath']}.status"
    states[POLL_CHOICE] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": status, "StringEquals": "Executing", "Next": POLL_WAIT},
            {"Variable": status, "StringEquals": "Stopping", "Next": POLL_WAIT},
        ],
        "Default": token_wait["Next"],
    }
    return polling


@contextmanager
def _world(resolved: Resolved) -> Iterator[tuple[RetrainingWorld, pytest.MonkeyPatch]]:
    with pytest.MonkeyPatch.context() as patches, retraining_world(resolved, patches) as world:
        world.outputs.not_better()  # the pipeline registers nothing: the run ends after CheckRegistration
        yield world, patches


def run_ours(resolved: Resolved, *, minutes: float, seconds_per_minute: float) -> RunCount:
    """A run whose pipeline ends ``minutes`` (compressed) after the run parked on its task token."""
    with _world(resolved) as (world, _):
        world.outputs.status = "Executing"
        arn = world.start("ours")
        register_wait = world.resolved.function("lambdas.retraining.register_wait").name
        deadline = time.monotonic() + 30
        # Parked: register_wait stored the token, found the pipeline still running and returned.
        while not any(call.result for call in world.runtime.calls(register_wait)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the run never parked on the pipeline: {world.states(arn)}")
            time.sleep(0.02)
        [registered] = [call.result for call in world.runtime.calls(register_wait) if call.result]
        if registered["completed"]:
            raise RuntimeError(f"the pipeline had ended before the run parked: {registered}")
        time.sleep(minutes * seconds_per_minute)
        [pipeline] = world.pipeline_executions
        [delivered] = world.finish_pipeline(pipeline)  # the status event, through the rule to pipeline_callback
        if delivered.get("delivered") is not True:
            raise RuntimeError(f"the pipeline's status event did not resume the run: {delivered}")
        return _counted(world, arn, "ours", minutes, polls=0)


def run_polling(resolved: Resolved, *, minutes: float, poll_seconds: int) -> RunCount:
    """The polling design's run: the pipeline answers Executing until the poll ``minutes`` into it."""
    polling = dataclasses.replace(resolved, definition=polling_definition(resolved.definition))
    needed = polls_for(minutes, poll_seconds)
    with _world(polling) as (world, patches):
        world.outputs.status = "Executing"
        polls: dict[str, int] = {}
        described = SageMakerModelBackend.describe_pipeline_execution  # the harness's, with its overrides

        def describe(backend: Any, arn: str) -> dict[str, Any]:
            # Only the state machine's polls count: the override is set once the harness has run the pipeline
            # (the pipeline emulator describes the execution too while it runs it).
            if arn in world.status_overrides:
                polls[arn] = polls.get(arn, 0) + 1
                if polls[arn] >= needed:
                    world.status_overrides.pop(arn, None)  # the pipeline has finished by this poll
            response: dict[str, Any] = described(backend, arn)
            return response

        patches.setattr(SageMakerModelBackend, "describe_pipeline_execution", describe)
        arn = world.start("polling")
        # Each poll is a few interpreted states and one in-process call; on a busy machine that can take a second.
        world.wait(arn, timeout=120 + 5 * needed)
        made = world.states(arn).count(POLL_DESCRIBE)
        return _counted(world, arn, "polling", minutes, polls=made)


def _counted(world: RetrainingWorld, arn: str, design: str, minutes: float, *, polls: int) -> RunCount:
    described = world.wait(arn, timeout=300)  # ours resumes after its callback; polling has ended
    states = world.states(arn)
    if described["status"] != "SUCCEEDED" or states[-1] != "End-not_better":
        raise RuntimeError(f"{design} run ended {described['status']} at {states[-1:]}: {states}")
    return RunCount(
        design=design,
        pipeline_minutes=minutes,
        states=tuple(states),
        lambda_invocations=len(world.runtime.invocations),
        polls=polls,
    )

"""The cost estimate prices a retraining run by the states its definition's longest successful path enters: the
synthesized state machine, run by the offline interpreter with the real handlers, enters exactly as many."""

from __future__ import annotations

from config import DEV
from tests.support.sfn_offline import RetrainingWorld
from tests.support.synth import Synthesized
from tools.cost.assembly import load_assembly
from tools.cost.workflow import run_profile


def test_a_promoting_run_enters_the_states_the_estimate_prices(world: RetrainingWorld, app_synth: Synthesized) -> None:
    assembly = load_assembly(app_synth.outdir)[DEV.name]
    [machine] = [
        m
        for m in assembly.of_type("AWS::StepFunctions::StateMachine")
        if m.properties.get("StateMachineName") == world.resolved.state_machine_name
    ]
    priced = run_profile(machine, assembly)

    described = world.run("cost-path")
    entered = world.states(described["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert entered[-1] == "End-promoted"
    assert len(entered) == priced.transitions
    # Init and InitWithDefaults are alternatives (settings given or not): one state either way.
    alternatives = {"Init", "InitWithDefaults"}
    assert [s for s in entered if s not in alternatives] == [s for s in priced.states if s not in alternatives]
    invoked_by_tasks = {f.properties.get("FunctionName") for f in priced.lambdas} - {None}
    assert {"fraud-detection-dev-deploy", "fraud-detection-dev-promote"} <= invoked_by_tasks

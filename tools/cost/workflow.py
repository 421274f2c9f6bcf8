"""What one run of a synthesized Step Functions state machine does, read from its definition.

A run is priced along the longest path from ``StartAt`` to a successful end (``Succeed`` or ``End``) that
follows ``Next``, ``Choice`` branches and ``Default`` but not ``Catch`` (failure handling) and visits no state
twice: a complete run without retries or repeated loops. Every state entered is one billed state transition;
``Parallel`` branches and ``Map`` iterations (assumed one) add their own states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tools.cost.assembly import EnvironmentAssembly, Resource, render_text
from tools.cost.errors import CostError


@dataclass(frozen=True)
class Job:
    """A SageMaker job a task starts: kind (processing or training), instance type and count."""

    state: str
    use: str
    instance_type: str
    instance_count: int


@dataclass(frozen=True)
class RunProfile:
    """One run: the states it enters, the Lambda functions it invokes (resources) and the jobs it starts."""

    states: tuple[str, ...]
    lambdas: tuple[Resource, ...] = field(default_factory=tuple)
    jobs: tuple[Job, ...] = field(default_factory=tuple)

    @property
    def transitions(self) -> int:
        return len(self.states)


def definition(machine: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parsed ASL of ``machine`` and the intrinsics its placeholder words stand for."""
    placeholders: dict[str, Any] = {}
    raw = machine.properties.get("DefinitionString") or machine.properties.get("Definition")
    if isinstance(raw, dict) and "Fn::Join" not in raw and "Fn::Sub" not in raw:
        return raw, placeholders
    text = render_text(raw, placeholders=placeholders)
    for name, value in (machine.properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + name + "}", render_text(value, placeholders=placeholders))
    try:
        parsed: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{machine.stack}/{machine.logical_id}"
        raise CostError(f"state machine {where}: definition is not JSON ({error})") from None
    return parsed, placeholders


def run_profile(machine: Resource, assembly: EnvironmentAssembly) -> RunProfile:
    asl, placeholders = definition(machine)
    states = _longest_success_path(asl, where=f"{machine.stack}/{machine.logical_id}")
    lambdas: list[Resource] = []
    jobs: list[Job] = []
    for name, state in states:
        function = _invoked_lambda(state, placeholders, machine, assembly)
        if function is not None:
            lambdas.append(function)
        job = _started_job(name, state)
        if job is not None:
            jobs.append(job)
    return RunProfile(states=tuple(n for n, _ in states), lambdas=tuple(lambdas), jobs=tuple(jobs))


def _longest_success_path(asl: dict[str, Any], *, where: str) -> list[tuple[str, dict[str, Any]]]:
    states: dict[str, dict[str, Any]] = asl.get("States", {})
    if asl.get("StartAt") not in states:
        raise CostError(f"state machine {where}: StartAt names no state")

    def successors(state: dict[str, Any]) -> list[str]:
        if state.get("Type") == "Choice":
            nexts = [c["Next"] for c in state.get("Choices", []) if "Next" in c]
            return nexts + ([state["Default"]] if "Default" in state else [])
        return [state["Next"]] if "Next" in state else []

    def ends_well(state: dict[str, Any]) -> bool:
        return state.get("Type") == "Succeed" or (state.get("End") is True and state.get("Type") != "Fail")

    best: list[str] = []

    def walk(name: str, path: list[str]) -> None:
        nonlocal best
        state = states[name]
        path = [*path, name]
        if ends_well(state) and len(path) > len(best):
            best = path
        for following in successors(state):
            if following in states and following not in path:
                walk(following, path)

    walk(str(asl["StartAt"]), [])
    if not best:
        raise CostError(f"state machine {where}: no path from StartAt reaches a successful end")
    result: list[tuple[str, dict[str, Any]]] = []
    for name in best:
        state = states[name]
        result.append((name, state))
        for inner in _inner_machines(state):
            result.extend(
                (f"{name}/{inner_name}", inner_state)
                for inner_name, inner_state in _longest_success_path(inner, where=f"{where}/{name}")
            )
    return result


def _inner_machines(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", []))
    if state.get("Type") == "Map":
        inner = state.get("ItemProcessor") or state.get("Iterator")
        return [inner] if inner else []
    return []


def _invoked_lambda(
    state: dict[str, Any], placeholders: dict[str, Any], machine: Resource, assembly: EnvironmentAssembly
) -> Resource | None:
    if state.get("Type") != "Task":
        return None
    resource = str(state.get("Resource", ""))
    if ":states:::lambda:invoke" in resource:
        target = (state.get("Parameters") or {}).get("FunctionName")
    elif ":lambda:" in resource or resource in placeholders:
        target = resource
    else:
        return None
    if isinstance(target, str) and target in placeholders:
        reference = placeholders[target]
        found = assembly.lambda_named(machine, reference)
    else:
        found = assembly.lambda_named(machine, target)
    if found is None or found.type != "AWS::Lambda::Function":
        return None
    return found


def _started_job(name: str, state: dict[str, Any]) -> Job | None:
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters") or {}
    if ":sagemaker:createProcessingJob" in resource:
        cluster = (parameters.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        use = "processing"
    elif ":sagemaker:createTrainingJob" in resource:
        cluster = parameters.get("ResourceConfig") or {}
        use = "training"
    else:
        return None
    instance_type, count = cluster.get("InstanceType"), cluster.get("InstanceCount", 1)
    if not isinstance(instance_type, str) or not isinstance(count, int):
        raise CostError(f"task {name}: instance type and count must be literal in the definition to be priced")
    return Job(state=name, use=use, instance_type=instance_type, instance_count=count)

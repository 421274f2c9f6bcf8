"""Handlers: environment validated once, typed errors keep their names, a whole run through the handlers."""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.environment import ApprovalMode as ConfigApprovalMode
from config.environment import RetrainingPolicy
from config.environments import PROD
from lambdas.retraining import runtime
from lambdas.retraining.errors import ConfigurationError, RetrainingInProgress
from lambdas.retraining.settings import ApprovalEnv, ApprovalMode, GuardEnv, NotifyEnv, PipelineEnv, Policy
from tests.unit.retraining.conftest import PIPELINE, World, environ

HANDLERS = (
    "guard",
    "start_pipeline",
    "register_wait",
    "pipeline_callback",
    "check_registration",
    "approval",
    "approval_callback",
    "notify",
    "release",
)


@dataclass
class LambdaContext:
    function_name: str = "fraud-detection-dev-retraining"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fraud-detection-dev-retraining"
    aws_request_id: str = "req-1"


@pytest.fixture
def wired(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The real handlers, with the environment from variables and the clients of the test world."""
    for name, value in environ().items():
        monkeypatch.setenv(name, value)
    runtime.clear_caches()
    for name in HANDLERS:
        monkeypatch.setattr(importlib.import_module(f"lambdas.retraining.{name}"), "clients", lambda: world.aws)
    yield world
    runtime.clear_caches()


def test_every_module_exposes_a_handler() -> None:
    for name in HANDLERS:
        assert callable(importlib.import_module(f"lambdas.retraining.{name}").handler)


def test_a_run_goes_through_the_handlers(wired: World) -> None:
    from lambdas.retraining import (  # noqa: PLC0415 - modules under test
        approval,
        check_registration,
        guard,
        notify,
        register_wait,
        release,
        start_pipeline,
    )

    context = LambdaContext()
    state: dict[str, Any] = {"execution_name": "exec-1", "trigger": {"source": "manual"}}
    state["guard"] = guard.handler({**state, "now": "2026-03-01T12:00:00Z"}, context)
    state["pipeline"] = start_pipeline.handler(state["guard"], context)
    arn = state["pipeline"]["pipeline_execution_arn"]
    waited = register_wait.handler(
        {"task_token": "token-pipeline", "pipeline_execution_arn": arn, "execution_name": "exec-1"}, context
    )
    execution_id = arn.rsplit("/", 1)[-1]
    package = wired.register(generated_by=f"{PIPELINE}/{execution_id}")
    wired.put_decision(arn, {"register": True, "code": "registered_no_champion", "reason": "first model, 0.8 >= 0.3"})
    state["registration"] = check_registration.handler({"pipeline_execution_arn": arn}, context)
    state["approval"] = approval.handler(
        {"model_package_arn": package, "execution_name": "exec-1", "run_id": state["guard"]["run_id"]}, context
    )
    state["promotion"] = {"outcome": "promoted", "model_package_arn": package}
    sent = notify.handler(state, context)
    released = release.handler({"execution_name": "exec-1", "outcome": "promoted"}, context)

    assert waited["completed"] is True  # moto's execution already Succeeded: the wait completed itself
    assert wired.sfn.successes() == [("token-pipeline", {"status": "Succeeded", "pipeline_execution_arn": arn})]
    assert state["registration"]["model_package_arn"] == package
    assert state["approval"]["approved"] is True
    assert sent["outcome"] == "promoted"
    assert released["released"] is True
    assert wired.items("RUN#")[0]["outcome"] == "promoted"


def test_errors_keep_their_names_for_step_functions(wired: World) -> None:
    from lambdas.retraining import guard  # noqa: PLC0415

    guard.handler({"execution_name": "exec-1", "trigger": {"source": "manual"}}, LambdaContext())
    with pytest.raises(RetrainingInProgress) as skipped:
        guard.handler({"execution_name": "exec-2", "trigger": {"source": "alarm"}}, LambdaContext())

    assert type(skipped.value).__name__ == "RetrainingInProgress"


def test_the_environment_is_read_once(wired: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first = runtime.guard_env()
    monkeypatch.setenv("TRAINING_WINDOW_DAYS", "not a number")

    assert runtime.guard_env() is first
    runtime.clear_caches()
    with pytest.raises(ConfigurationError, match="TRAINING_WINDOW_DAYS must be an integer"):
        runtime.guard_env()


def test_missing_variables_are_named() -> None:
    values = environ()
    del values["STATE_TABLE"], values["TRAINING_WINDOW_DAYS"]

    with pytest.raises(ConfigurationError, match="missing environment variables: STATE_TABLE, TRAINING_WINDOW_DAYS"):
        GuardEnv.from_env(values)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policy": {"cooldown_hours": -1}}, r"cooldown_hours=-1 is outside"),
        ({"policy": {"max_runs_per_period": True}}, r"max_runs_per_period is required \(an integer\)"),
        ({"policy": {"typo_hours": 1}}, r"unknown keys \['typo_hours'\]"),
        ({"ABSOLUTE_THRESHOLD": "1.5"}, r"ABSOLUTE_THRESHOLD=1.5 is outside"),
        ({"OWNER_TOPIC_ARN": "owner@example.com"}, r"not an SNS topic ARN"),
        ({"APPROVAL_MODE": "sometimes"}, r"APPROVAL_MODE: unknown mode 'sometimes'"),
    ],
)
def test_invalid_settings_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_every_env(environ(**overrides))


def load_every_env(values: dict[str, str]) -> None:
    for cls in (GuardEnv, PipelineEnv, NotifyEnv, ApprovalEnv):
        cls.from_env(values)


def test_the_policy_is_the_configs_retraining_policy_as_json() -> None:
    """What the CDK side passes: json.dumps(dataclasses.asdict(env.retraining)), approval mode's value."""
    policy = Policy.from_json(json.dumps(dataclasses.asdict(PROD.retraining)))

    expected = {f.name: getattr(PROD.retraining, f.name) for f in dataclasses.fields(Policy)}
    assert dataclasses.asdict(policy) == expected
    assert {f.name for f in dataclasses.fields(RetrainingPolicy)} == {
        *(f.name for f in dataclasses.fields(Policy)),
        *Policy.IGNORED,
    }
    assert {m.value for m in ApprovalMode} == {m.value for m in ConfigApprovalMode}

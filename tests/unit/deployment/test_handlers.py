"""Handlers: environment validated once, typed errors surface under their class names, one call into logic."""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.environments import DEV, STAGING
from lambdas.deployment import runtime
from lambdas.deployment.errors import ConfigurationError, MalformedRequest, PackageNotApproved
from lambdas.deployment.settings import DeploymentEnv, ScoreEnv, Strategy, StrategySettings
from tests.unit.deployment.conftest import ALARMS, World, environ

STEPS = ("prepare", "deploy", "verify", "compare", "promote", "rollback", "score")


@dataclass
class LambdaContext:
    function_name: str = "mlops-deployment"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:mlops-deployment"
    aws_request_id: str = "req-1"


@pytest.fixture
def wired(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The real handlers, with the environment from variables and the clients of the test world."""
    for name, value in environ("canary").items():
        monkeypatch.setenv(name, value)
    runtime.deployment_env.cache_clear()
    for step in STEPS[:-1]:
        monkeypatch.setattr(
            importlib.import_module(f"lambdas.deployment.{step}"), "deployment_clients", lambda: world.aws
        )
    yield world
    runtime.deployment_env.cache_clear()


def test_every_step_module_exposes_a_handler() -> None:
    for step in STEPS:
        assert callable(importlib.import_module(f"lambdas.deployment.{step}").handler)


def test_a_canary_runs_through_the_handlers(wired: World) -> None:
    from lambdas.deployment import deploy, prepare, promote, verify  # noqa: PLC0415 - modules under test

    event = {
        "deployment_id": "exec-1",
        "model_package_arn": wired.packages["v2"],
        "trigger": "drift-alarm:fraud-detection-dev-feature-drift",
        "requested_by": "retraining-state-machine",
        "now": "2026-03-01T12:00:00Z",
    }
    prepared = prepare.handler(event, LambdaContext())
    deploy.handler(prepared, LambdaContext())  # the state machine passes the previous output on
    wired.sagemaker.finish_update()
    verify.handler(prepared, LambdaContext())
    result = promote.handler({"deployment_id": "exec-1", "now": "2026-03-01T12:30:00Z"}, LambdaContext())

    assert prepared["started_at"] == "2026-03-01T12:00:00.000000Z"
    assert result["promoted_at"] == "2026-03-01T12:30:00.000000Z"
    assert wired.pointer() == wired.packages["v2"]
    [item] = [i for i in wired.history_items() if i["sk"]["S"].startswith("DEPLOYMENT#")]
    assert item["sk"]["S"] == "DEPLOYMENT#2026-03-01T12:00:00.000000Z#exec-1"
    assert (item["trigger"]["S"], item["requested_by"]["S"]) == (event["trigger"], event["requested_by"])
    assert (item["outcome"]["S"], item["strategy"]["S"]) == ("promoted", "canary")


def test_errors_keep_their_names_for_step_functions(wired: World) -> None:
    from lambdas.deployment import prepare  # noqa: PLC0415

    with pytest.raises(MalformedRequest) as malformed:
        prepare.handler({"deployment_id": "exec-1"}, LambdaContext())
    with pytest.raises(PackageNotApproved) as not_approved:
        prepare.handler({"deployment_id": "exec-1", "model_package_arn": wired.packages["pending"]}, LambdaContext())

    # Lambda reports errorType = the exception's class name; the state machine catches on it.
    assert (type(malformed.value).__name__, type(not_approved.value).__name__) == (
        "MalformedRequest",
        "PackageNotApproved",
    )
    assert wired.sagemaker.mutations() == []


def test_a_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = environ("canary")
    del variables["HISTORY_TABLE"], variables["SAGEMAKER_ROLE_ARN"]

    with pytest.raises(ConfigurationError, match="missing environment variables: HISTORY_TABLE, SAGEMAKER_ROLE_ARN"):
        DeploymentEnv.from_env(variables)
    with pytest.raises(ConfigurationError, match="missing environment variables: FEATURE_NAMES, CATEGORIES"):
        ScoreEnv.from_env({"ENDPOINT_NAME": "e", "FEATURE_GROUPS": "{}", "ENTITY_ID_NAME": "customer_id"})


@pytest.mark.parametrize("environment", [DEV, STAGING])
def test_the_config_deployment_settings_are_accepted_as_they_are(environment: Any) -> None:
    """The CDK side serializes ``config.environment.DeploymentSettings`` with ``asdict`` plus the alarm names."""
    raw = {**dataclasses.asdict(environment.deployment), "alarm_names": ALARMS}

    settings = StrategySettings.from_json(json.dumps(raw))

    assert settings.strategy is Strategy(environment.deployment.strategy.value)
    assert settings.ab.weight_steps_percent == environment.deployment.ab.weight_steps_percent
    assert settings.shadow.min_agreement_rate == environment.deployment.shadow.min_agreement_rate
    assert settings.alarm_names == tuple(ALARMS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "yolo"}, "DEPLOYMENT_SETTINGS.strategy: unknown strategy 'yolo'"),
        ({"canary_size_percent": 70}, r"DEPLOYMENT_SETTINGS.canary_size_percent=70 is outside \[1, 50\]"),
        (
            {"shadow": {"max_p99_latency_ration": 2}},
            r"DEPLOYMENT_SETTINGS.shadow: unknown keys \['max_p99_latency_ration'\]",
        ),
        ({"ab": {"weight_steps_percent": [10, 50]}}, "must be strictly increasing and end at 100"),
        ({"alarm_names": ["a"] * 2}, "at most 10 distinct alarm names"),
        ({"wait_interval_seconds": 3600, "max_execution_timeout_seconds": 3600}, "must exceed wait_interval_seconds"),
    ],
)
def test_bad_deployment_settings_are_named(change: dict[str, Any], message: str) -> None:
    raw = {"strategy": "canary", **change}

    with pytest.raises(ConfigurationError, match=message):
        StrategySettings.from_json(json.dumps(raw))


def test_the_variant_name_cannot_be_the_candidates() -> None:
    with pytest.raises(ConfigurationError, match="VARIANT_NAME must not be 'shadow'"):
        DeploymentEnv.from_env({**environ("shadow"), "VARIANT_NAME": "shadow"})

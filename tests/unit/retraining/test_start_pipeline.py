"""start_pipeline: champion from the serving pointer, the pipeline's parameters, idempotent starts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lambdas.retraining.errors import ChampionUnresolved, RunNotFound
from lambdas.retraining.guard import guard
from lambdas.retraining.start_pipeline import client_request_token, display_name, start_pipeline
from pipeline_defs import definition
from tests.unit.retraining.conftest import PIPELINE, T0, World


def started_run(world: World, name: str = "exec-1") -> dict[str, Any]:
    return guard(
        {"execution_name": name, "trigger": {"source": "schedule"}}, env=world.guard_env(), aws=world.aws, now=T0
    )


def start(world: World, event: dict[str, Any]) -> dict[str, Any]:
    return start_pipeline(event, env=world.pipeline_env(), aws=world.aws, now=T0 + timedelta(seconds=5))


def parameters(world: World, arn: str) -> dict[str, str]:
    response = world.aws.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in response["PipelineParameters"]}


def test_the_first_run_has_no_champion(world: World) -> None:
    run = started_run(world)

    result = start(world, run)

    assert result["champion_model_uri"] == ""
    assert result["champion_package_arn"] == ""
    assert parameters(world, result["pipeline_execution_arn"]) == {
        "WindowStart": "2026-01-30T12:00:00.000Z",
        "WindowEnd": "2026-03-01T12:00:00.000Z",
        "ChampionModelUri": "",
        "AbsoluteThreshold": "0.3",
        "MinImprovement": "0.01",
    }
    [call] = world.sagemaker.mutations("start_pipeline_execution")
    assert call["PipelineName"] == PIPELINE
    assert call["PipelineExecutionDisplayName"] == run["run_id"]
    assert "trigger: schedule" in call["PipelineExecutionDescription"]
    [item] = world.items("RUN#")
    assert item["pipeline_execution_arn"] == result["pipeline_execution_arn"]


def test_the_champion_is_the_serving_packages_model_artifact(world: World) -> None:
    serving = world.register(status="Approved", model_data_url="s3://mlops-dev-artifacts/champion/model.tar.gz")
    world.set_pointer(serving)

    result = start(world, started_run(world))

    assert result["champion_package_arn"] == serving
    assert result["champion_model_uri"] == "s3://mlops-dev-artifacts/champion/model.tar.gz"
    assert parameters(world, result["pipeline_execution_arn"])["ChampionModelUri"] == result["champion_model_uri"]


@pytest.mark.parametrize(
    "pointer", ["none", "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-dev/9"]
)
def test_a_placeholder_pointer_or_a_missing_package_means_no_champion(world: World, pointer: str) -> None:
    world.set_pointer(pointer)

    assert start(world, started_run(world))["champion_model_uri"] == ""


def test_a_serving_package_without_model_data_stops_the_run(world: World) -> None:
    serving = world.register(status="Approved", model_data_url="")
    world.set_pointer(serving)

    with pytest.raises(ChampionUnresolved, match="no model data URL"):
        start(world, started_run(world))
    assert world.sagemaker.mutations("start_pipeline_execution") == []


def test_a_repeated_start_returns_the_recorded_execution(world: World) -> None:
    run = started_run(world)

    first = start(world, run)
    second = start(world, run)

    assert second == first
    assert len(world.sagemaker.mutations("start_pipeline_execution")) == 1


def test_a_start_lost_before_it_was_recorded_is_deduplicated_by_its_token(world: World) -> None:
    """The Lambda crashed after StartPipelineExecution: the retry sends the same ClientRequestToken."""
    run = started_run(world)
    first = start(world, run)
    store = world.store()
    recorded = store.run_of("exec-1")
    assert recorded is not None
    store.update_record(recorded, pipeline_execution_arn="")  # as if the record never happened

    retried = start(world, run)

    calls = world.sagemaker.mutations("start_pipeline_execution")
    assert len(calls) == 2
    assert calls[0]["ClientRequestToken"] == calls[1]["ClientRequestToken"]
    assert calls[0]["ClientRequestToken"] == client_request_token(PIPELINE, "exec-1")
    assert retried["pipeline_execution_arn"] == first["pipeline_execution_arn"]
    assert len(world.aws.sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]) == 1


def test_tokens_differ_per_execution_and_fit_the_api() -> None:
    tokens = {client_request_token(PIPELINE, f"exec-{i}") for i in range(50)}
    assert len(tokens) == 50
    assert all(32 <= len(token) <= 128 for token in tokens)
    assert display_name("exec_1.retry:2") == "exec-1-retry-2"


def test_starting_without_a_run_is_refused(world: World) -> None:
    with pytest.raises(RunNotFound, match="run guard first"):
        start(world, {"execution_name": "exec-unknown"})


def test_parameter_names_and_layout_match_the_pipeline_definition() -> None:
    """The Lambda asset carries only lambdas/: its copies of the pipeline's contract must not drift."""
    from lambdas.retraining import check_registration, start_pipeline  # noqa: PLC0415

    assert start_pipeline.WINDOW_START == definition.WINDOW_START
    assert start_pipeline.WINDOW_END == definition.WINDOW_END
    assert start_pipeline.CHAMPION_MODEL_URI == definition.CHAMPION_MODEL_URI
    assert start_pipeline.ABSOLUTE_THRESHOLD == definition.ABSOLUTE_THRESHOLD
    assert start_pipeline.MIN_IMPROVEMENT == definition.MIN_IMPROVEMENT
    assert check_registration.DECISION_KEY == definition.DECISION_KEY
    prefix = definition.run_prefix(artifacts_bucket="bucket", pipeline_name=PIPELINE, execution_id="abc123")
    assert f"s3://bucket/{check_registration.decision_key(PIPELINE, 'abc123')}" == f"{prefix}/{definition.DECISION_KEY}"

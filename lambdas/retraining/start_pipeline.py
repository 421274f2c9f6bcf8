"""start_pipeline: start the model's SageMaker pipeline for the run, with the serving model as the champion.

Event  ``{"execution_name": str, "now"?: iso}`` (the guard's result is fine: other keys are ignored; the
training window is the one the guard recorded for the run)
Result ``{execution_name, run_id, pipeline_execution_arn, champion_model_uri, champion_package_arn}``;
``champion_*`` are ``""`` when nothing serves yet (first run: no pointer, or it names no existing package).

Pipeline parameters: ``WindowStart``, ``WindowEnd`` (the run's window), ``ChampionModelUri`` (the serving
package's ``InferenceSpecification.Containers[0].ModelDataUrl``), ``AbsoluteThreshold`` and ``MinImprovement``
(environment). Idempotent: the run item keeps the execution ARN (a re-invocation returns it without calling
SageMaker), and ``ClientRequestToken`` is derived from the pipeline and execution names, so a retried start
that never got recorded returns the same pipeline execution.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from lambdas.retraining import events
from lambdas.retraining.errors import RunNotFound
from lambdas.retraining.registry import resolve_champion
from lambdas.retraining.runtime import Aws, clients, pipeline_env, state_store
from lambdas.retraining.settings import PipelineEnv
from lambdas.retraining.state import Run
from lambdas.shared.events import request_time
from lambdas.shared.observability import logger

# Parameter names of pipeline_defs/definition.py (the Lambda asset carries only lambdas/; a test pins them).
WINDOW_START = "WindowStart"
WINDOW_END = "WindowEnd"
CHAMPION_MODEL_URI = "ChampionModelUri"
ABSOLUTE_THRESHOLD = "AbsoluteThreshold"
MIN_IMPROVEMENT = "MinImprovement"

_DISPLAY_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9]+")
_DISPLAY_MAX = 82
_DESCRIPTION_MAX = 3072


def start_pipeline(event: object, *, env: PipelineEnv, aws: Aws, now: datetime) -> dict[str, Any]:
    request = events.as_mapping(event)
    name = events.execution_name(request)
    store = state_store(env, aws)
    run = store.run_of(name)
    if run is None:
        raise RunNotFound(f"no retraining run recorded for execution '{name}' of {env.label}: run guard first")
    if run.pipeline_execution_arn:
        return _result(run)

    champion = resolve_champion(aws.sagemaker, aws.ssm, env.serving_pointer_parameter)
    response = aws.sagemaker.start_pipeline_execution(
        PipelineName=env.pipeline_name,
        PipelineExecutionDisplayName=display_name(run.run_id),
        PipelineExecutionDescription=_description(run)[:_DESCRIPTION_MAX],
        PipelineParameters=[
            {"Name": WINDOW_START, "Value": run.window_start},
            {"Name": WINDOW_END, "Value": run.window_end},
            {"Name": CHAMPION_MODEL_URI, "Value": champion.model_data_url},
            {"Name": ABSOLUTE_THRESHOLD, "Value": _number(env.absolute_threshold)},
            {"Name": MIN_IMPROVEMENT, "Value": _number(env.min_improvement)},
        ],
        ClientRequestToken=client_request_token(env.pipeline_name, name),
    )
    updated = store.update_record(
        run,
        pipeline_execution_arn=str(response["PipelineExecutionArn"]),
        pipeline_started_at=events.format_time(now),
        champion_package_arn=champion.package_arn,
        champion_model_uri=champion.model_data_url,
    )
    logger.info("pipeline started", extra=_result(updated))
    return _result(updated)


def client_request_token(pipeline_name: str, execution_name: str) -> str:
    """StartPipelineExecution's idempotency token (32-128 characters): the same for every retry of a run."""
    return hashlib.sha256(f"{pipeline_name}#{execution_name}".encode()).hexdigest()


def display_name(run_id: str) -> str:
    cleaned = _DISPLAY_NOT_ALLOWED.sub("-", run_id).strip("-")[:_DISPLAY_MAX].rstrip("-")
    return cleaned or "retraining"


def _description(run: Run) -> str:
    return (
        f"retraining run {run.run_id} (Step Functions execution {run.execution_name}); "
        f"trigger: {run.trigger_source}; window {run.window_start} .. {run.window_end}"
    )


def _number(value: float) -> str:
    """A pipeline float parameter's text, without exponent notation (``1e-05`` -> ``0.00001``)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


def _result(run: Run) -> dict[str, Any]:
    return {
        "execution_name": run.execution_name,
        "run_id": run.run_id,
        "pipeline_execution_arn": run.pipeline_execution_arn,
        "champion_model_uri": run.champion_model_uri,
        "champion_package_arn": run.champion_package_arn,
    }


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return start_pipeline(event, env=pipeline_env(), aws=clients(), now=request_time(event))

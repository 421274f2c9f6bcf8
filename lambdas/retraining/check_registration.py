"""check_registration: did the pipeline register a candidate, and if not, why?

Event  ``{"pipeline_execution_arn": str}`` (other keys ignored)
Result ``{pipeline_execution_arn, registered: bool, model_package_arn: str | None, code, reason}``

Reads ``decision/decision.json`` under the execution's prefix ``s3://<ARTIFACTS_BUCKET>/pipelines/<pipeline
name>/<execution id>/`` (``pipeline_defs.definition.run_prefix``), written by the pipeline's Decide step:
``{"register": bool, "code": str, "reason": str, ...}``. ``register: false`` ("not better", "below threshold")
returns ``registered: false`` with the decision's code and reason. ``register: true`` looks for the package
the execution registered in ``MODEL_PACKAGE_GROUP`` (``registry.find_candidate``).

Errors: ``PipelineNotFinished`` (still running: retry), ``PipelineFailed`` (did not succeed),
``DecisionMissing`` (a Succeeded execution without a readable decision.json), ``CandidateNotFound`` (the
decision says register but no package of the group came from the execution: retry a few times, then notify).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lambdas.retraining import events
from lambdas.retraining.errors import CandidateNotFound, DecisionMissing, PipelineFailed, PipelineNotFinished
from lambdas.retraining.registry import SUCCEEDED, describe_execution, failure_cause, find_candidate
from lambdas.retraining.runtime import Aws, clients, registration_env
from lambdas.retraining.settings import RegistrationEnv
from lambdas.shared.observability import logger

# pipeline_defs/definition.py's S3 layout (the Lambda asset carries only lambdas/; a test pins these).
PIPELINES_PREFIX = "pipelines"
DECISION_KEY = "decision/decision.json"


def decision_key(pipeline_name: str, execution_id: str) -> str:
    """The S3 key (in the artifacts bucket) of an execution's decision.json."""
    return f"{PIPELINES_PREFIX}/{pipeline_name}/{execution_id}/{DECISION_KEY}"


def check_registration(event: object, *, env: RegistrationEnv, aws: Aws) -> dict[str, Any]:
    request = events.as_mapping(event)
    arn = events.pipeline_execution_arn(request)
    pipeline_name, execution_id = events.split_pipeline_execution_arn(arn)
    execution = describe_execution(aws.sagemaker, arn)
    if not execution.finished:
        raise PipelineNotFinished(f"pipeline execution {arn} is {execution.status}; check again once it ends")
    if execution.status != SUCCEEDED:
        raise PipelineFailed(failure_cause(execution))

    decision = _decision(aws.s3, env.artifacts_bucket, decision_key(pipeline_name, execution_id), arn)
    result: dict[str, Any] = {
        "pipeline_execution_arn": arn,
        "registered": False,
        "model_package_arn": None,
        "code": decision["code"],
        "reason": decision["reason"],
    }
    if not decision["register"]:
        logger.info("no candidate registered", extra=result)
        return result
    if execution.created is None:
        raise CandidateNotFound(f"pipeline execution {arn} has no CreationTime; cannot find its model package")
    package = find_candidate(
        aws.sagemaker,
        group=env.model_package_group,
        pipeline_name=pipeline_name,
        execution_id=execution_id,
        execution_arn=arn,
        started=execution.created,
    )
    if package is None:
        raise CandidateNotFound(
            f"decision.json of {arn} says register ({decision['code']}), but no model package in group "
            f"'{env.model_package_group}' was created by the execution"
        )
    result |= {"registered": True, "model_package_arn": package}
    logger.info("candidate registered", extra=result)
    return result


def _decision(s3: Any, bucket: str, key: str, arn: str) -> dict[str, Any]:
    where = f"s3://{bucket}/{key}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
            raise DecisionMissing(
                f"pipeline execution {arn} Succeeded but wrote no decision ({where} does not exist)"
            ) from None
        raise
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DecisionMissing(f"{where} is not JSON") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("register"), bool)
        or not isinstance(raw.get("code"), str)
        or not isinstance(raw.get("reason"), str)
    ):
        raise DecisionMissing(f"{where} lacks register (bool), code (str) or reason (str)")
    return raw


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return check_registration(event, env=registration_env(), aws=clients())

"""score: online features of one entity -> model input in the spec's order -> endpoint -> score.

Environment ``ENDPOINT_NAME``, ``FEATURE_GROUPS`` (JSON group -> feature group name), ``FEATURE_NAMES`` (JSON
list, the spec's order), ``CATEGORIES`` (JSON feature -> the spec's categories), ``ENTITY_ID_NAME``.
Event  ``{"entity_id": str (or "<ENTITY_ID_NAME>": str), "inference_id"?: str (1-64 chars; default uuid4)}``
Result ``{score: float, inference_id: str, model_endpoint: str, variant: str | null}``

The input vector is built by ``lambdas.shared.features.to_model_input`` (the function training uses) with the
spec's order and categories, so column order and categorical encoding cannot drift from training. The
``InferenceId`` reaches data capture, where ground truth is joined to the prediction. A missing record in any
group is ``EntityNotFound``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from lambdas.deployment import events
from lambdas.deployment.errors import EntityNotFound, InvalidModelResponse, MalformedRequest
from lambdas.deployment.runtime import ScoringAws, score_env, scoring_clients
from lambdas.deployment.scores import NotAScore, parse_score
from lambdas.deployment.settings import ScoreEnv
from lambdas.shared.features import FeatureRecord, format_csv_row, from_feature_store_record, to_model_input
from lambdas.shared.observability import logger

_INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]{0,63}$")


def score(
    event: object, *, env: ScoreEnv, aws: ScoringAws, new_id: Callable[[], object] = uuid.uuid4
) -> dict[str, Any]:
    request = events.as_mapping(event)
    entity_id = request.get(env.entity_id_name, request.get("entity_id"))
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise MalformedRequest(f"entity_id: missing or empty (also accepted as '{env.entity_id_name}')")
    inference_id = request.get("inference_id")
    if inference_id is None:
        inference_id = str(new_id())
    elif not isinstance(inference_id, str) or not _INFERENCE_ID.match(inference_id):
        raise MalformedRequest("inference_id: 1-64 printable ASCII characters, not starting with a space")

    record: FeatureRecord = {}
    for group, feature_group in env.feature_groups:
        record.update(_online_record(aws.featurestore, feature_group, group, entity_id.strip()))
    vector = to_model_input(record, env.feature_names, env.categories)
    response = aws.runtime.invoke_endpoint(
        EndpointName=env.endpoint_name,
        ContentType="text/csv",
        Accept="text/csv",
        Body=format_csv_row(vector).encode("utf-8"),
        InferenceId=inference_id,
    )
    body = response["Body"].read().decode("utf-8", errors="replace")
    try:
        value = parse_score(body)
    except NotAScore as error:
        raise InvalidModelResponse(f"endpoint '{env.endpoint_name}' answered {body[:200]!r}: {error}") from None
    return {
        "score": value,
        "inference_id": inference_id,
        "model_endpoint": env.endpoint_name,
        "variant": response.get("InvokedProductionVariant"),
    }


def _online_record(featurestore: Any, feature_group: str, group: str, entity_id: str) -> FeatureRecord:
    try:
        response = featurestore.get_record(FeatureGroupName=feature_group, RecordIdentifierValueAsString=entity_id)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ResourceNotFound", "ResourceNotFoundException"):
            raise EntityNotFound(f"no online record for '{entity_id}' in feature group '{feature_group}'") from None
        raise
    items = response.get("Record") or []
    if not items:
        raise EntityNotFound(f"no online record for '{entity_id}' in feature group '{feature_group}' ({group})")
    return from_feature_store_record(items)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return score(event, env=score_env(), aws=scoring_clients())

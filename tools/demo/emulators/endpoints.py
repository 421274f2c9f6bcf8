"""SageMaker real-time endpoints: InvokeEndpoint answered by the real model, with data capture and metrics, and
UpdateEndpoint / UpdateEndpointWeightsAndCapacities with deployment guardrails and shadow variants.

Real: the endpoint, its configs, models and model packages as created (through moto's API or CloudFormation),
the model artifact the package names (``ModelDataUrl`` in S3), the xgboost library the built-in XGBoost
container serves it with, S3 for captures, CloudWatch ``PutMetricData`` for the metrics, ``DescribeAlarms`` for
the guardrails' alarms.

Emulated:

- serving (``invoke_endpoint``): endpoint -> config -> production variant (by ``CurrentWeight``, or the
  request's ``TargetVariant``) -> model -> model package -> ``ModelDataUrl`` -> every model file of the archive
  loaded as an XGBoost booster (the built-in container averages several). A ``text/csv`` body is parsed as the
  container does (one row per line, an empty field is NaN) and the answer is its predictions joined by commas
  (``text/csv; charset=utf-8``). A body the model cannot score is the container's 4xx, answered as
  ``ModelError`` (424, with ``OriginalStatusCode``); an unknown endpoint or variant is ``ValidationError``;
- shadow variants: ``ShadowProductionVariants`` (moto drops them; ``remember_shadow_variants`` keeps them)
  receive a copy of a sampled share of the requests (shadow weight / production weight); their answers are
  captured and measured under their own variant name, never returned;
- data capture (docs/aws-facts.md#data-capture): per request, sampled at ``InitialSamplingPercentage``,
  one JSON line with the ``CaptureOptions``' input and/or output (``CSV``/``JSON`` for the content types named
  in ``CaptureContentTypeHeader``, else ``BASE64``), ``eventId``, ``inferenceTime`` and the caller's
  ``inferenceId``; lines are buffered and written by ``flush`` to
  ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl`` with the capture KMS key;
- metrics (docs/aws-facts.md#endpoint-metrics): per request ``Invocations``, ``InvocationsPerInstance``,
  ``Invocation4XXErrors``, ``Invocation5XXErrors``, ``InvocationModelErrors`` (1 or 0), ``ModelLatency`` and
  ``OverheadLatency`` in microseconds (measured: ``ModelLatency`` is the CPU time the request's thread spent
  reading and scoring it, plus a fault's added latency, as a container with its own CPUs would see it; the
  demo machine's load and the wait for the emulator's one shared booster are overhead), in ``AWS/SageMaker``
  with ``EndpointName`` and ``VariantName``, and also ``EndpointConfigName`` for the new fleet during a
  guardrail deployment; published by ``flush``;
- ``update_endpoint`` (moto has none) with the deployment guardrails of docs/aws-facts.md#deployment-guardrails:
  ``Updating`` with ``PendingDeploymentSummary`` (the new config, variant statuses ``Creating``,
  ``ActivatingTraffic``, ``Baking``); the new fleet's models are loaded first (one that cannot be loaded fails the
  update, as a failed health check does); traffic then shifts to it ALL_AT_ONCE, in a CANARY step or in LINEAR
  steps (``RollingUpdatePolicy``: in batches), each followed by ``WaitIntervalInSeconds`` of baking, then the
  final ``TerminationWaitInSeconds``; while baking, any alarm of ``AutoRollbackConfiguration`` in ``ALARM``, or
  ``MaximumExecutionTimeoutInSeconds`` passing, rolls every request back to the old fleet and the endpoint ends
  ``InService`` on the OLD config (no ``FailureReason`` for an alarm: the silent rollback); otherwise it ends
  ``InService`` on the new config. No ``DeploymentConfig`` is blue/green all at once without baking;
  ``RetainDeploymentConfig`` reuses the last one (``LastDeploymentConfig``, also kept from CreateEndpoint).
  Progress is made by ``advance`` (a test or driver steps it) or ``run_operation`` (a thread on a clock);
- faults (``inject_fault``): the containers serving one model artifact can be made slower (added model
  latency) and failing (a share of requests answered as the container's 500), to show a regression;
- ``update_weights_and_capacities``: ``Updating`` for ``WEIGHT_CHANGE_SECONDS``, then the desired weights and
  counts are current (moto applies them at once and drops a weight of 0).

What it could hide: the container's real Python and packages (this virtualenv's xgboost), pickled models (only
XGBoost's own format is loaded), content types other than ``text/csv`` and the container's JSON output,
instance limits, cold starts, autoscaling, timeouts, throttling, IAM and KMS permissions, the delay before
captures and metrics appear (``flush``), SageMaker's own validation of the alarms and capacities of a
DeploymentConfig, how long provisioning takes (instant here), and a model that is slow for a reason other than
its CPU work (its latency counts CPU time only).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import random
import tarfile
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tools.demo.emulators.runtime import Aws, Ticking, moto_backend

NAMESPACE = "AWS/SageMaker"
XGBOOST_IMAGE = "sagemaker-xgboost"
CSV = "text/csv"
CSV_ANSWER = "text/csv; charset=utf-8"
MAX_VALUES_PER_DATUM = 150  # PutMetricData: Values per metric datum
MAX_DATA_PER_REQUEST = 1000  # PutMetricData: metric data per request
WEIGHT_CHANGE_SECONDS = 60.0  # how long an UpdateEndpointWeightsAndCapacities takes to apply
_LOCK = threading.RLock()  # endpoint states, buffers and models of this process
_PREDICT = threading.Lock()  # the built-in container loads one booster per worker: predict is not shared


class EndpointError(Exception):
    """An error InvokeEndpoint / UpdateEndpoint answers: HTTP status, error code, message (and extra fields)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra

    @property
    def body(self) -> dict[str, Any]:
        return {"message": str(self), **self.extra}


def _invalid(message: str) -> EndpointError:
    return EndpointError(400, "ValidationError", message)


def _control_invalid(message: str) -> EndpointError:
    return EndpointError(400, "ValidationException", message)


# ---- models ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedModel:
    """What one variant's container serves: the model, its image and artifact, the loaded boosters."""

    model_name: str
    image: str
    model_data_url: str
    boosters: tuple[Any, ...]


@dataclass(frozen=True)
class Fault:
    """A fault injected into the containers serving one model artifact (``inject_fault``)."""

    latency_ms: float = 0.0  # added to every request's model time
    error_rate: float = 0.0  # share of requests the container fails with a 500


_FAULTS: dict[str, Fault] = {}  # ModelDataUrl -> fault


def inject_fault(model_data_url: str, fault: Fault | None) -> None:
    """Make every container serving ``model_data_url`` slow and/or failing (None removes the fault): the demo's
    stand-in for a model that regresses in production, as a fault-injection experiment would make it."""
    if fault is not None and not (0.0 <= fault.error_rate <= 1.0 and fault.latency_ms >= 0.0):
        raise ValueError(f"a fault needs an error rate in [0, 1] and a latency >= 0, not {fault}")
    with _LOCK:
        if fault is None:
            _FAULTS.pop(model_data_url, None)
        else:
            _FAULTS[model_data_url] = fault


_BOOSTERS: dict[tuple[str, str], tuple[Any, ...]] = {}  # (ModelDataUrl, ETag) -> boosters
_SERVED: dict[tuple[str, str], ServedModel] = {}  # (model name, its creation time) -> what it serves


def _container(aws: Aws, model_name: str) -> tuple[str, str]:
    """(image, ModelDataUrl) of the model's first container, through its model package when it names one."""
    sagemaker = aws.client("sagemaker")
    model = sagemaker.describe_model(ModelName=model_name)
    containers = [c for c in [model.get("PrimaryContainer"), *model.get("Containers", [])] if c]
    if not containers:
        raise _invalid(f"model {model_name} has no container")
    container = containers[0]
    if container.get("ModelPackageName"):
        package = sagemaker.describe_model_package(ModelPackageName=container["ModelPackageName"])
        containers = package.get("InferenceSpecification", {}).get("Containers", [])
        if not containers:
            raise _invalid(f"model package {container['ModelPackageName']} has no inference container")
        container = containers[0]
    return str(container.get("Image", "")), str(container.get("ModelDataUrl", ""))


def load_model(aws: Aws, model_name: str) -> ServedModel:
    """The variant's model as the built-in XGBoost container loads it (every file of ``model.tar.gz``), once per
    model: a SageMaker Model and the package it names are immutable."""
    record = _backend(aws)._models.get(model_name)
    identity = (model_name, str(getattr(record, "creation_time", "")))
    with _LOCK:
        served = _SERVED.get(identity)
    if served is None:
        served = _load(aws, model_name)
        with _LOCK:
            _SERVED[identity] = served
    return served


def _load(aws: Aws, model_name: str) -> ServedModel:
    import xgboost as xgb  # noqa: PLC0415 - loaded only where a model is served

    image, url = _container(aws, model_name)
    if XGBOOST_IMAGE not in image:
        raise EndpointError(500, "InternalFailure", f"model {model_name}: image '{image}' is not emulated")
    if not url.startswith("s3://"):
        raise EndpointError(500, "InternalFailure", f"model {model_name}: ModelDataUrl '{url}' is not in S3")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    s3 = aws.client("s3")
    try:
        etag = str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except Exception as error:
        raise EndpointError(500, "InternalFailure", f"model {model_name}: cannot read {url} ({error})") from None
    with _LOCK:
        cached = _BOOSTERS.get((url, etag))
    if cached is None:
        archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        boosters = []
        with tempfile.TemporaryDirectory() as scratch:
            try:
                with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                    tar.extractall(scratch, filter="data")
                for path in sorted(p for p in Path(scratch).iterdir() if p.is_file()):
                    booster = xgb.Booster()
                    booster.load_model(str(path))
                    booster.set_param("nthread", "1")  # as the container does (one worker per booster)
                    boosters.append(booster)
            except Exception as error:
                raise EndpointError(
                    500, "InternalFailure", f"model {model_name}: {url} cannot be loaded ({error})"
                ) from None
        if not boosters:
            raise EndpointError(500, "InternalFailure", f"model {model_name}: {url} holds no model file")
        cached = tuple(boosters)
        with _LOCK:
            _BOOSTERS[(url, etag)] = cached
    return ServedModel(model_name=model_name, image=image, model_data_url=url, boosters=cached)


def predict(model: ServedModel, body: bytes, content_type: str) -> bytes:
    """The built-in XGBoost container's answer to one request; its 4xx answers raise ``ModelError``."""
    import xgboost as xgb  # noqa: PLC0415

    media = (content_type or CSV).split(";", maxsplit=1)[0].strip().lower()
    if media != CSV:
        raise _model_error(415, f"Content-type {content_type} not supported (the emulated container reads text/csv)")
    text = body.strip().decode("utf-8", errors="replace")
    try:
        rows = np.array([["nan" if v == "" else v for v in line.split(",")] for line in text.split("\n")])
        matrix = rows.astype(float)
        if matrix.ndim != 2:
            raise ValueError("rows of different lengths")
    except ValueError as error:
        raise _model_error(415, f"Loading csv data failed, please ensure data is in csv format: {error}") from None
    try:
        with _PREDICT:
            predictions = [b.predict(xgb.DMatrix(matrix, nthread=1), validate_features=False) for b in model.boosters]
    except Exception as error:
        raise _model_error(400, f"Unable to evaluate payload provided: {error}") from None
    values = predictions[0] if len(predictions) == 1 else np.mean(predictions, axis=0)
    return ",".join(map(str, values.tolist())).encode()


def _model_error(status: int, message: str) -> EndpointError:
    return EndpointError(
        424,
        "ModelError",
        f'Received {"server" if status >= 500 else "client"} error ({status}) from primary with message "{message}"',
        OriginalStatusCode=status,
        OriginalMessage=message,
    )


# ---- endpoint state ------------------------------------------------------------------------------------------


@dataclass
class _Phase:
    kind: str  # provision | shift | bake | finish
    fraction: float = 0.0  # shift: the share of each variant's traffic on the new fleet
    seconds: float = 0.0  # bake: how long


@dataclass
class _Deployment:
    old_config: str
    new_config: str
    alarms: tuple[str, ...]
    timeout_seconds: float | None
    phases: list[_Phase]
    started: datetime
    elapsed: float = 0.0
    phase_started: float = 0.0
    green: float = 0.0  # share of each variant's traffic on the new fleet
    status: str = "Creating"
    status_since: datetime | None = None


@dataclass
class _WeightChange:
    desired: dict[str, dict[str, Any]]  # variant -> {DesiredWeight, DesiredInstanceCount}
    elapsed: float = 0.0


@dataclass
class _State:
    operation: _Deployment | _WeightChange | None = None
    deployment_config: dict[str, Any] | None = None
    captures: dict[tuple[str, str, str], list[tuple[datetime, str]]] = field(default_factory=lambda: defaultdict(list))
    metrics: list[tuple[datetime, str, tuple[tuple[str, str], ...], str, float]] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    rollbacks: list[tuple[str, tuple[str, ...], str | None]] = field(default_factory=list)  # config, alarms, reason


def _backend(aws: Aws) -> Any:
    return moto_backend("sagemaker", aws.account, aws.region)


def _record(aws: Aws, name: str, *, control: bool = False) -> Any:
    record = _backend(aws).endpoints.get(name)
    if record is None:
        arn = f"arn:aws:sagemaker:{aws.region}:{aws.account}:endpoint/{name}"
        message = f'Could not find endpoint "{arn}".'
        raise _control_invalid(message) if control else EndpointError(400, "ValidationError", message)
    return record


def _state(record: Any) -> _State:
    state = getattr(record, "emulated_state", None)
    if state is None:
        state = record.emulated_state = _State()
    return state


def _config(aws: Aws, name: str) -> Any:
    config = _backend(aws).endpoint_configs.get(name)
    if config is None:
        arn = f"arn:aws:sagemaker:{aws.region}:{aws.account}:endpoint-config/{name}"
        raise _control_invalid(f'Could not find endpoint configuration "{arn}".')
    return config


def _shadows(config: Any) -> list[dict[str, Any]]:
    return list(getattr(config, "shadow_production_variants", None) or [])


def remember_shadow_variants(aws: Aws, config_name: str, shadows: Sequence[Mapping[str, Any]] | None) -> None:
    """Keep CreateEndpointConfig's ``ShadowProductionVariants`` (DescribeEndpointConfig then answers them)."""
    if shadows:
        _config(aws, config_name).shadow_production_variants = [dict(v) for v in shadows]


def endpoint_created(aws: Aws, name: str, deployment_config: Mapping[str, Any] | None) -> None:
    """After CreateEndpoint: describe the endpoint as SageMaker does (every weight, shadows, capture status) and
    keep its ``DeploymentConfig`` for a later ``RetainDeploymentConfig``."""
    with _LOCK:
        record = _record(aws, name, control=True)
        state = _state(record)
        if deployment_config:
            state.deployment_config = dict(deployment_config)
            record.last_deployment_config = dict(deployment_config)
        _describe_serving(record, _config(aws, record.endpoint_config_name))


def _variant_summary(
    variant: Mapping[str, Any], weight: float | None = None, count: int | None = None
) -> dict[str, Any]:
    summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
    weight = float(variant.get("InitialVariantWeight", 1.0)) if weight is None else weight
    summary["CurrentWeight"] = summary["DesiredWeight"] = weight
    if variant.get("ServerlessConfig"):
        summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
    else:
        count = int(variant.get("InitialInstanceCount", 1)) if count is None else count
        summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count
    return summary


def _describe_serving(record: Any, config: Any) -> None:
    """DescribeEndpoint's variants and capture status for ``config`` serving alone (weights kept by name)."""
    before = {v["VariantName"]: v for v in record.production_variants or []}
    same = record.endpoint_config_name == config.endpoint_config_name
    variants = []
    for variant in config.production_variants:
        kept = before.get(variant["VariantName"]) if same else None
        weight = kept.get("CurrentWeight") if kept else None
        count = kept.get("CurrentInstanceCount") if kept else None
        variants.append(_variant_summary(variant, None if weight is None else float(weight), count))
    record.production_variants = variants
    record.shadow_production_variants = [_variant_summary(v) for v in _shadows(config)] or None
    capture = config.data_capture_config or {}
    if capture:
        enabled = bool(capture.get("EnableCapture", True))
        record.data_capture_config = {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": int(capture.get("InitialSamplingPercentage", 100)),
            "DestinationS3Uri": capture.get("DestinationS3Uri", ""),
            **({"KmsKeyId": capture["KmsKeyId"]} if capture.get("KmsKeyId") else {}),
        }


# ---- InvokeEndpoint ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str
    invoked_variant: str
    custom_attributes: str | None = None


@dataclass(frozen=True)
class _Request:
    body: bytes
    content_type: str
    inference_id: str | None
    moment: datetime


@dataclass(frozen=True)
class _Fleet:
    config: Any
    variant: dict[str, Any]
    new: bool  # the new fleet of a running deployment (metrics also carry EndpointConfigName)


def invoke_endpoint(
    aws: Aws,
    *,
    endpoint_name: str,
    body: bytes,
    content_type: str = CSV,
    accept: str | None = None,
    target_variant: str | None = None,
    inference_id: str | None = None,
    custom_attributes: str | None = None,
    now: datetime | None = None,
) -> Invocation:
    """InvokeEndpoint: route, score with the variant's model, capture and measure; raises ``EndpointError``."""
    moment = now or datetime.now(UTC)
    with _LOCK:
        record = _record(aws, endpoint_name)
        if record.endpoint_status not in ("InService", "Updating"):
            raise _invalid(f"Endpoint {endpoint_name} is {record.endpoint_status}; it cannot be invoked.")
        state = _state(record)
        serving = _config(aws, record.endpoint_config_name)
        fleet = _route(aws, record, state, serving, target_variant)
        shadows = [
            v for v in _shadows(serving) if state.rng.random() < _shadow_share(v, serving, fleet.variant["VariantName"])
        ]
    request = _Request(body=body, content_type=content_type or CSV, inference_id=inference_id, moment=moment)
    answer = _serve(aws, record, state, fleet, request)
    for shadow in shadows:
        with contextlib.suppress(EndpointError):  # a shadow's failure is measured, never answered
            _serve(aws, record, state, _Fleet(serving, shadow, new=False), request)
    return Invocation(
        body=answer,
        content_type=CSV_ANSWER,
        invoked_variant=fleet.variant["VariantName"],
        custom_attributes=custom_attributes,
    )


def _weights(record: Any, config: Any) -> list[tuple[dict[str, Any], float]]:
    current = {v["VariantName"]: v.get("CurrentWeight") for v in record.production_variants or []}
    found = []
    for variant in config.production_variants:
        weight = current.get(variant["VariantName"])
        found.append((variant, float(variant.get("InitialVariantWeight", 1.0) if weight is None else weight)))
    return found


def _route(aws: Aws, record: Any, state: _State, serving: Any, target: str | None) -> _Fleet:
    weighted = _weights(record, serving)
    if target:
        chosen = next((v for v, _ in weighted if v["VariantName"] == target), None)
        if chosen is None:
            raise _invalid(f"Variant {target} not found for endpoint {record.endpoint_name}.")
    else:
        total = sum(max(w, 0.0) for _, w in weighted)
        if total <= 0:
            raise _invalid(f"Endpoint {record.endpoint_name} has no variant with a positive weight.")
        pick, chosen = state.rng.random() * total, weighted[-1][0]
        for variant, weight in weighted:
            pick -= max(weight, 0.0)
            if pick < 0:
                chosen = variant
                break
    operation = state.operation
    if isinstance(operation, _Deployment) and operation.green > 0 and state.rng.random() < operation.green:
        new = _config(aws, operation.new_config)
        same = next((v for v in new.production_variants if v["VariantName"] == chosen["VariantName"]), None)
        if same is not None:
            return _Fleet(new, same, new=True)
    return _Fleet(serving, chosen, new=False)


def _shadow_share(shadow: Mapping[str, Any], config: Any, production: str) -> float:
    weight = next(
        (
            float(v.get("InitialVariantWeight", 1.0))
            for v in config.production_variants
            if v["VariantName"] == production
        ),
        1.0,
    )
    return 0.0 if weight <= 0 else min(1.0, float(shadow.get("InitialVariantWeight", 1.0)) / weight)


def _serve(aws: Aws, record: Any, state: _State, fleet: _Fleet, request: _Request) -> bytes:
    started = time.perf_counter()
    model_us: float | None = None
    status, answer, error = 200, b"", None
    try:
        model = load_model(aws, str(fleet.variant["ModelName"]))
        added = 0.0
        computing = time.thread_time()  # the container's own CPU: this thread's time, not the machine's load
        try:
            fault = _FAULTS.get(model.model_data_url)
            if fault is not None:
                added = fault.latency_ms / 1000
                time.sleep(added)
                if state.rng.random() < fault.error_rate:
                    raise _model_error(500, "injected fault: the container failed")
            answer = predict(model, request.body, request.content_type)
        finally:
            model_us = (added + time.thread_time() - computing) * 1e6
    except EndpointError as failure:
        error = failure
        status = int(failure.extra.get("OriginalStatusCode", failure.status))
    total_us = (time.perf_counter() - started) * 1e6
    with _LOCK:
        _measure(record, state, fleet, status=status, model_us=model_us, total_us=total_us, moment=request.moment)
        if error is None:
            _capture(state, fleet, request, answer)
    if error is not None:
        raise error
    return answer


def _measure(
    record: Any, state: _State, fleet: _Fleet, *, status: int, model_us: float | None, total_us: float, moment: datetime
) -> None:
    variant = str(fleet.variant["VariantName"])
    dimension_sets: list[tuple[tuple[str, str], ...]] = [
        (("EndpointName", str(record.endpoint_name)), ("VariantName", variant))
    ]
    if fleet.new:
        dimension_sets.append(
            (
                ("EndpointConfigName", str(fleet.config.endpoint_config_name)),
                ("EndpointName", str(record.endpoint_name)),
                ("VariantName", variant),
            )
        )
    instances = max(1, int(fleet.variant.get("InitialInstanceCount", 1)))
    values = [
        ("Invocations", "None", 1.0),
        ("InvocationsPerInstance", "None", 1.0 / instances),
        ("Invocation4XXErrors", "None", 1.0 if 400 <= status < 500 else 0.0),
        ("Invocation5XXErrors", "None", 1.0 if status >= 500 else 0.0),
        ("InvocationModelErrors", "None", 1.0 if status >= 400 else 0.0),
        ("OverheadLatency", "Microseconds", max(0.0, total_us - (model_us or 0.0))),
    ]
    if model_us is not None:
        values.append(("ModelLatency", "Microseconds", model_us))
    for dimensions in dimension_sets:
        for name, unit, value in values:
            state.metrics.append((moment, name, dimensions, unit, value))


def _section(data: bytes, content_type: str, mode: str, header: Mapping[str, Any]) -> dict[str, str]:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    csv_types = {str(t).lower() for t in header.get("CsvContentTypes", [])}
    json_types = {str(t).lower() for t in header.get("JsonContentTypes", [])}
    if media in csv_types or media in json_types:
        encoding, text = ("CSV" if media in csv_types else "JSON"), data.decode("utf-8", errors="replace")
    else:
        encoding, text = "BASE64", base64.b64encode(data).decode()
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def _capture(state: _State, fleet: _Fleet, request: _Request, answer: bytes) -> None:
    capture = fleet.config.data_capture_config or {}
    if not capture or not capture.get("EnableCapture", True):
        return
    if state.rng.random() * 100 >= float(capture.get("InitialSamplingPercentage", 100)):
        return
    modes = {str(o.get("CaptureMode", "")).lower() for o in capture.get("CaptureOptions", [])}
    header = capture.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if "input" in modes:
        data["endpointInput"] = _section(request.body, request.content_type, "INPUT", header)
    if "output" in modes:
        data["endpointOutput"] = _section(answer, CSV_ANSWER, "OUTPUT", header)
    metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": request.moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if request.inference_id:
        metadata["inferenceId"] = request.inference_id
    line = json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})
    destination = str(capture["DestinationS3Uri"]).rstrip("/")
    key = (destination, str(fleet.variant["VariantName"]), str(capture.get("KmsKeyId") or ""))
    state.captures[key].append((request.moment, line))


# ---- flushing captures and metrics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flushed:
    capture_files: tuple[str, ...]
    metric_data: int


def flush(aws: Aws) -> Flushed:
    """Write every buffered capture line to S3 (one file per endpoint, variant and hour) and publish the metrics."""
    with _LOCK:
        pending = []
        for record in list(_backend(aws).endpoints.values()):
            state = getattr(record, "emulated_state", None)
            if state is None:
                continue
            pending.append((record.endpoint_name, dict(state.captures), list(state.metrics)))
            state.captures.clear()
            state.metrics.clear()
    files: list[str] = []
    sent = 0
    for endpoint, captures, metrics in pending:
        files += _write_captures(aws, endpoint, captures)
        sent += _publish(aws, metrics)
    return Flushed(capture_files=tuple(files), metric_data=sent)


def _write_captures(
    aws: Aws, endpoint: str, captures: Mapping[tuple[str, str, str], list[tuple[datetime, str]]]
) -> list[str]:
    s3 = aws.client("s3")
    written = []
    for (destination, variant, kms_key), lines in captures.items():
        by_hour: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        for moment, line in lines:
            by_hour[moment.strftime("%Y/%m/%d/%H")].append((moment, line))
        bucket, _, prefix = destination.removeprefix("s3://").partition("/")
        for hour, entries in sorted(by_hour.items()):
            first = entries[0][0]
            name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            key = "/".join(p for p in (prefix, endpoint, variant, hour, name) if p)
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
            s3.put_object(Bucket=bucket, Key=key, Body="\n".join(line for _, line in entries).encode() + b"\n", **extra)
            written.append(f"s3://{bucket}/{key}")
    return written


def _publish(aws: Aws, metrics: Sequence[tuple[datetime, str, tuple[tuple[str, str], ...], str, float]]) -> int:
    grouped: dict[tuple[datetime, str, tuple[tuple[str, str], ...], str], list[float]] = defaultdict(list)
    for moment, name, dimensions, unit, value in metrics:
        grouped[(moment.replace(microsecond=0), name, dimensions, unit)].append(value)
    data = []
    for (moment, name, dimensions, unit), values in grouped.items():
        for start in range(0, len(values), MAX_VALUES_PER_DATUM):
            chunk = values[start : start + MAX_VALUES_PER_DATUM]
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                    "Timestamp": moment,
                    "Values": chunk,
                    "Counts": [1.0] * len(chunk),
                    "Unit": unit,
                }
            )
    cloudwatch = aws.client("cloudwatch")
    for start in range(0, len(data), MAX_DATA_PER_REQUEST):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + MAX_DATA_PER_REQUEST])
    return len(metrics)


# ---- UpdateEndpoint ---------------------------------------------------------------------------------------------


def _fraction(size: Mapping[str, Any] | None, instances: int) -> float:
    if not size:
        return 1.0
    value = float(size.get("Value", 100))
    share = value / 100 if size.get("Type") == "CAPACITY_PERCENT" else value / max(1, instances)
    return min(1.0, max(share, 0.0)) or 1.0


def _plan(policy: Mapping[str, Any] | None, instances: int) -> tuple[list[_Phase], float | None]:
    """The deployment's phases after provisioning, and its execution timeout."""
    phases = [_Phase("provision")]
    if not policy or not (policy.get("BlueGreenUpdatePolicy") or policy.get("RollingUpdatePolicy")):
        return [*phases, _Phase("shift", 1.0), _Phase("finish")], None
    rolling = policy.get("RollingUpdatePolicy")
    if rolling:
        step = _fraction(rolling.get("MaximumBatchSize"), instances)
        wait = float(rolling.get("WaitIntervalInSeconds", 0))
        shares = [min(1.0, step * (i + 1)) for i in range(math.ceil(1 / step))]
        for share in shares:
            phases += [_Phase("shift", share), _Phase("bake", seconds=wait)]
        timeout = rolling.get("MaximumExecutionTimeoutInSeconds")
        return [*phases, _Phase("finish")], float(timeout) if timeout else None
    blue_green = policy["BlueGreenUpdatePolicy"]
    routing = blue_green.get("TrafficRoutingConfiguration", {})
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    kind = routing.get("Type", "ALL_AT_ONCE")
    if kind == "CANARY":
        phases += [_Phase("shift", _fraction(routing.get("CanarySize"), instances)), _Phase("bake", seconds=wait)]
        phases += [_Phase("shift", 1.0)]
    elif kind == "LINEAR":
        step = _fraction(routing.get("LinearStepSize"), instances)
        for i in range(math.ceil(1 / step)):
            phases += [_Phase("shift", min(1.0, step * (i + 1))), _Phase("bake", seconds=wait)]
    else:
        phases += [_Phase("shift", 1.0), _Phase("bake", seconds=wait)]
    phases += [_Phase("bake", seconds=float(blue_green.get("TerminationWaitInSeconds", 0))), _Phase("finish")]
    timeout = blue_green.get("MaximumExecutionTimeoutInSeconds")
    return phases, float(timeout) if timeout else None


def update_endpoint(aws: Aws, request: Mapping[str, Any], *, now: datetime | None = None) -> str:
    """UpdateEndpoint: validate, start the deployment (``Updating``); ``advance`` or ``run_operation`` runs it."""
    moment = now or datetime.now(UTC)
    name = str(request["EndpointName"])
    with _LOCK:
        record = _record(aws, name, control=True)
        state = _state(record)
        new = _config(aws, str(request["EndpointConfigName"]))
        if record.endpoint_status != "InService" or state.operation is not None:
            raise _control_invalid(f'Cannot update in-progress endpoint "{record.arn}".')
        policy = request.get("DeploymentConfig")
        if request.get("RetainDeploymentConfig") and not policy:
            policy = state.deployment_config
        old = _config(aws, record.endpoint_config_name)
        if policy:
            missing = {v["VariantName"] for v in old.production_variants} - {
                v["VariantName"] for v in new.production_variants
            }
            if missing:
                raise _control_invalid(
                    f"Deployment guardrails need the new endpoint config to keep the variants {sorted(missing)} "
                    f'of "{old.endpoint_config_name}".'
                )
        instances = max(int(v.get("InitialInstanceCount", 1)) for v in new.production_variants)
        phases, timeout = _plan(policy, instances)
        alarms = tuple(
            str(a["AlarmName"]) for a in ((policy or {}).get("AutoRollbackConfiguration") or {}).get("Alarms", [])
        )
        state.operation = _Deployment(
            old_config=old.endpoint_config_name,
            new_config=new.endpoint_config_name,
            alarms=alarms,
            timeout_seconds=timeout,
            phases=phases,
            started=moment,
            status_since=moment,
        )
        state.deployment_config = dict(policy) if policy else None
        record.last_deployment_config = dict(policy) if policy else None
        record.endpoint_status = "Updating"
        record.failure_reason = None
        record.last_modified_time = moment
        _describe_pending(record, state.operation, new)
        return str(record.arn)


def _describe_pending(record: Any, deployment: _Deployment, new: Any) -> None:
    variants = []
    for variant in new.production_variants:
        summary = _variant_summary(variant)
        summary["CurrentWeight"] = float(summary["CurrentWeight"]) * deployment.green
        if "CurrentInstanceCount" in summary and deployment.status == "Creating":
            summary["CurrentInstanceCount"] = 0
        summary["VariantStatus"] = [{"Status": deployment.status, "StartTime": deployment.status_since}]
        variants.append(summary)
    record.pending_deployment_summary = {
        "EndpointConfigName": new.endpoint_config_name,
        "ProductionVariants": variants,
        "StartTime": deployment.started,
    }


def update_weights_and_capacities(aws: Aws, request: Mapping[str, Any], *, now: datetime | None = None) -> str:
    """UpdateEndpointWeightsAndCapacities: ``Updating`` until ``advance`` has let ``WEIGHT_CHANGE_SECONDS`` pass."""
    name = str(request["EndpointName"])
    with _LOCK:
        record = _record(aws, name, control=True)
        state = _state(record)
        if record.endpoint_status != "InService" or state.operation is not None:
            raise _control_invalid(f'Cannot update in-progress endpoint "{record.arn}".')
        known = {v["VariantName"] for v in record.production_variants or []}
        desired: dict[str, dict[str, Any]] = {}
        for entry in request.get("DesiredWeightsAndCapacities", []):
            variant = str(entry["VariantName"])
            if variant not in known or variant in desired:
                raise _control_invalid(
                    f'The variant name "{variant}" is not present in endpoint "{name}" or named twice.'
                )
            if "DesiredWeight" not in entry and "DesiredInstanceCount" not in entry:
                raise _control_invalid(f"Variant {variant}: give DesiredWeight or DesiredInstanceCount.")
            if float(entry.get("DesiredWeight", 0)) < 0:
                raise _control_invalid(f"Variant {variant}: DesiredWeight must not be negative.")
            desired[variant] = {k: entry[k] for k in ("DesiredWeight", "DesiredInstanceCount") if k in entry}
        for variant in record.production_variants:
            wanted = desired.get(variant["VariantName"], {})
            if "DesiredWeight" in wanted:
                variant["DesiredWeight"] = float(wanted["DesiredWeight"])
            if "DesiredInstanceCount" in wanted and "DesiredInstanceCount" in variant:
                variant["DesiredInstanceCount"] = int(wanted["DesiredInstanceCount"])
        state.operation = _WeightChange(desired)
        record.endpoint_status = "Updating"
        record.last_modified_time = now or datetime.now(UTC)
        return str(record.arn)


def in_progress(aws: Aws, endpoint_name: str) -> bool:
    """Whether an UpdateEndpoint or a weight change is still running."""
    with _LOCK:
        return _state(_record(aws, endpoint_name)).operation is not None


def advance(aws: Aws, endpoint_name: str, seconds: float, *, now: datetime | None = None) -> str:
    """Let ``seconds`` of the endpoint's running operation pass; returns the endpoint status afterwards."""
    moment = now or datetime.now(UTC)
    with _LOCK:
        record = _record(aws, endpoint_name)
        state = _state(record)
        operation = state.operation
        if isinstance(operation, _WeightChange):
            operation.elapsed += max(seconds, 0.0)
            if operation.elapsed < WEIGHT_CHANGE_SECONDS:
                return str(record.endpoint_status)
            for variant in record.production_variants:
                if "DesiredWeight" in variant:
                    variant["CurrentWeight"] = variant["DesiredWeight"]
                if "DesiredInstanceCount" in variant:
                    variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
            _settle(record, state, moment)
        elif isinstance(operation, _Deployment):
            operation.elapsed += max(seconds, 0.0)
        status = str(record.endpoint_status)
    if isinstance(operation, _Deployment):
        status = _progress(aws, endpoint_name, operation, moment)
    return status


def _settle(record: Any, state: _State, moment: datetime) -> None:
    state.operation = None
    record.endpoint_status = "InService"
    record.pending_deployment_summary = None
    record.last_modified_time = moment


def _alarming(aws: Aws, names: Sequence[str]) -> list[str]:
    if not names:
        return []
    found = aws.client("cloudwatch").describe_alarms(
        AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    alarms = [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]
    return sorted(str(a["AlarmName"]) for a in alarms if a.get("StateValue") == "ALARM")


def _progress(aws: Aws, endpoint_name: str, deployment: _Deployment, moment: datetime) -> str:
    """Run the deployment's phases as far as its elapsed time allows (SageMaker's guardrail loop)."""
    while True:
        phase = deployment.phases[0]
        if deployment.timeout_seconds is not None and deployment.elapsed > deployment.timeout_seconds:
            return _roll_back(
                aws,
                endpoint_name,
                moment,
                f"The deployment did not finish within MaximumExecutionTimeoutInSeconds "
                f"({deployment.timeout_seconds:.0f} s); traffic was rolled back.",
            )
        if phase.kind == "provision":
            with _LOCK:
                models = [str(v["ModelName"]) for v in _config(aws, deployment.new_config).production_variants]
            try:
                for model in models:
                    load_model(aws, model)
            except EndpointError as error:
                return _roll_back(
                    aws,
                    endpoint_name,
                    moment,
                    f'The primary container of the new endpoint config "{deployment.new_config}" did not pass '
                    f"the ping health check: {error}",
                )
            _next_phase(aws, endpoint_name, deployment, moment, "ActivatingTraffic")
        elif phase.kind == "shift":
            with _LOCK:
                deployment.green = phase.fraction
            _next_phase(aws, endpoint_name, deployment, moment, "Baking")
        elif phase.kind == "bake":
            tripped = _alarming(aws, deployment.alarms)
            if tripped:
                return _roll_back(aws, endpoint_name, moment, None, tripped=tripped)
            if deployment.elapsed - deployment.phase_started < phase.seconds:
                with _LOCK:
                    return str(_record(aws, endpoint_name).endpoint_status)
            _next_phase(aws, endpoint_name, deployment, moment, "ActivatingTraffic")
        else:
            return _finish(aws, endpoint_name, deployment, moment)


def _next_phase(aws: Aws, endpoint_name: str, deployment: _Deployment, moment: datetime, status: str) -> None:
    with _LOCK:
        deployment.phases.pop(0)
        deployment.phase_started = deployment.elapsed
        if deployment.status != status:
            deployment.status, deployment.status_since = status, moment
        record = _record(aws, endpoint_name)
        _describe_pending(record, deployment, _config(aws, deployment.new_config))


def _finish(aws: Aws, endpoint_name: str, deployment: _Deployment, moment: datetime) -> str:
    with _LOCK:
        record = _record(aws, endpoint_name)
        new = _config(aws, deployment.new_config)
        record.endpoint_config_name = deployment.new_config
        _describe_serving(record, new)
        _settle(record, _state(record), moment)
        return str(record.endpoint_status)


def _roll_back(
    aws: Aws, endpoint_name: str, moment: datetime, reason: str | None, *, tripped: Sequence[str] = ()
) -> str:
    """Every request back to the old fleet: InService on the OLD config (no FailureReason after an alarm)."""
    with _LOCK:
        record = _record(aws, endpoint_name)
        state = _state(record)
        if isinstance(state.operation, _Deployment):
            state.operation.green = 0.0
            state.rollbacks.append((state.operation.new_config, tuple(tripped), reason))
        record.failure_reason = reason
        _settle(record, state, moment)
        return str(record.endpoint_status)


def rollbacks(aws: Aws, endpoint_name: str) -> list[tuple[str, tuple[str, ...], str | None]]:
    """The deployments rolled back on this endpoint: (new config, alarms in ALARM, FailureReason)."""
    with _LOCK:
        return list(_state(_record(aws, endpoint_name)).rollbacks)


def run_operation(aws: Aws, endpoint_name: str, clock: Ticking, *, tick_seconds: float = 10.0) -> str:
    """Drive the endpoint's running operation to its end on ``clock`` (a server thread per update)."""
    status = advance(aws, endpoint_name, 0.0, now=clock.now())
    while in_progress(aws, endpoint_name):
        clock.sleep(tick_seconds)
        status = advance(aws, endpoint_name, tick_seconds, now=clock.now())
    return status

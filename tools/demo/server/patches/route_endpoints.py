"""Routing: endpoints serve the real model and update as SageMaker's guardrails do (``tools.demo.emulators.endpoints``).

Gaps (moto 5.2.5):

- sagemaker-runtime InvokeEndpoint (moto/sagemakerruntime/responses.py ``invoke_endpoint``) answers a canned
  ``body`` and captures nothing; no endpoint metric is ever published;
- UpdateEndpoint is not implemented (moto/sagemaker/responses.py has no ``update_endpoint``:
  ``NotImplementedError``, an HTTP 500);
- UpdateEndpointWeightsAndCapacities (moto/sagemaker/models.py ``update_endpoint_weights_and_capacities``)
  applies at once, and a weight of 0 vanishes from DescribeEndpoint (``FakeEndpoint._process_production_variants``
  skips falsy weights);
- CreateEndpointConfig drops ``ShadowProductionVariants`` (responses.py ``create_endpoint_config``), and
  CreateEndpoint / CloudFormation's ``AWS::SageMaker::Endpoint`` drop ``DeploymentConfig``
  (``create_endpoint``, ``FakeEndpoint.create_from_cloudformation_json``).

Patch: InvokeEndpoint answers from ``endpoints.invoke_endpoint`` (its errors with their status and
``x-amzn-ErrorType``); UpdateEndpoint and UpdateEndpointWeightsAndCapacities start the emulator's operation
and a thread that runs it on the server's clock (``ServerContext.clock_speedup``); CreateEndpointConfig keeps
the shadow variants and CreateEndpoint (API and CloudFormation) the deployment config, and describes the new
endpoint as SageMaker does. A server thread writes buffered captures and publishes metrics every
``FLUSH_SECONDS``; ``POST /moto-api/demo/endpoints/flush`` does it at once (the demo's driver, before it
evaluates alarms or reads captures); ``POST /moto-api/demo/endpoints/faults`` injects a fault into the containers
serving one model artifact (``endpoints.inject_fault``: added latency, a share of 500s), or clears it.

Not routed: a CloudFormation update of an endpoint (moto deletes and re-creates it, without guardrails; the app's
deployments go through UpdateEndpoint).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from tools.demo.emulators.runtime import Aws
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.endpoints")
FLUSH_SECONDS = 5.0
FLUSH_PATH = "{0}/moto-api/demo/endpoints/flush$"
FAULTS_PATH = "{0}/moto-api/demo/endpoints/faults$"
_JSON = "application/x-amz-json-1.1"


def _aws(context: ServerContext) -> Aws:
    from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

    return emulator_aws(context)


def _error(error: Any, content_type: str) -> tuple[int, dict[str, str], str]:
    # moto takes a handler's status from its headers (moto/core/responses.py ``_transform_response``)
    headers = {"status": str(error.status), "content-type": content_type, "x-amzn-ErrorType": error.code}
    return error.status, headers, json.dumps({"__type": error.code, **error.body})


def _run(context: ServerContext, name: str) -> None:
    from tools.demo.emulators import endpoints  # noqa: PLC0415

    try:
        status = endpoints.run_operation(_aws(context), name, context.clock)
        log.info("endpoint %s: update ended %s", name, status)
    except Exception:
        log.exception("endpoint %s: the update emulation failed", name)


def _start(context: ServerContext, name: str) -> None:
    threading.Thread(target=_run, args=(context, name), name=f"endpoint-{name}", daemon=True).start()


def replacements(context: ServerContext) -> list[tuple[Any, str, Any]]:
    """(owner, attribute, new value) for every moto function this module replaces."""
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig  # noqa: PLC0415
    from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse  # noqa: PLC0415

    from tools.demo.emulators import endpoints  # noqa: PLC0415

    def invoke_endpoint(self: Any) -> tuple[int, dict[str, str], Any]:
        headers = self.headers
        try:
            answer = endpoints.invoke_endpoint(
                _aws(context),
                endpoint_name=unquote(self.path.split("/")[2]),
                body=self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode(),
                content_type=headers.get("Content-Type") or endpoints.CSV,
                accept=headers.get("Accept"),
                target_variant=headers.get("X-Amzn-SageMaker-Target-Variant"),
                inference_id=headers.get("X-Amzn-SageMaker-Inference-Id"),
                custom_attributes=headers.get("X-Amzn-SageMaker-Custom-Attributes"),
                now=context.clock.now(),  # metrics and captures are stamped on the demo's clock (sfn_clock)
            )
        except endpoints.EndpointError as error:
            return _error(error, "application/json")
        out = {"Content-Type": answer.content_type, "x-Amzn-Invoked-Production-Variant": answer.invoked_variant}
        if answer.custom_attributes:
            out["X-Amzn-SageMaker-Custom-Attributes"] = answer.custom_attributes
        return 200, out, answer.body

    def update_endpoint(self: Any) -> Any:
        keys = (
            "EndpointName",
            "EndpointConfigName",
            "RetainAllVariantProperties",
            "ExcludeRetainedVariantProperties",
            "DeploymentConfig",
            "RetainDeploymentConfig",
        )
        request = {key: self._get_param(key) for key in keys if self._get_param(key) is not None}
        try:
            arn = endpoints.update_endpoint(_aws(context), request, now=context.clock.now())
        except endpoints.EndpointError as error:
            return _error(error, _JSON)
        log.info("endpoint %s: updating to %s", request["EndpointName"], request["EndpointConfigName"])
        _start(context, str(request["EndpointName"]))
        return json.dumps({"EndpointArn": arn})

    def update_endpoint_weights_and_capacities(self: Any) -> Any:
        request = {
            "EndpointName": self._get_param("EndpointName"),
            "DesiredWeightsAndCapacities": self._get_param("DesiredWeightsAndCapacities") or [],
        }
        try:
            arn = endpoints.update_weights_and_capacities(_aws(context), request, now=context.clock.now())
        except endpoints.EndpointError as error:
            return _error(error, _JSON)
        _start(context, str(request["EndpointName"]))
        return json.dumps({"EndpointArn": arn})

    original_config = SageMakerResponse.create_endpoint_config

    @functools.wraps(original_config)
    def create_endpoint_config(self: Any) -> Any:
        answer = original_config(self)
        endpoints.remember_shadow_variants(
            _aws(context), str(self._get_param("EndpointConfigName")), self._get_param("ShadowProductionVariants")
        )
        return answer

    original_endpoint = SageMakerResponse.create_endpoint

    @functools.wraps(original_endpoint)
    def create_endpoint(self: Any) -> Any:
        answer = original_endpoint(self)
        endpoints.endpoint_created(
            _aws(context), str(self._get_param("EndpointName")), self._get_param("DeploymentConfig")
        )
        return answer

    original_cfn_endpoint = FakeEndpoint.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(original_cfn_endpoint)
    def create_endpoint_from_template(
        cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
    ) -> Any:
        created = original_cfn_endpoint(cls, resource_name, cloudformation_json, *args, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        endpoints.endpoint_created(_aws(context), created.endpoint_name, properties.get("DeploymentConfig"))
        return created

    original_cfn_config = FakeEndpointConfig.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @functools.wraps(original_cfn_config)
    def create_config_from_template(
        cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
    ) -> Any:
        created = original_cfn_config(cls, resource_name, cloudformation_json, *args, **kwargs)
        created.shadow_production_variants = cloudformation_json.get("Properties", {}).get("ShadowProductionVariants")
        return created

    return [
        (SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint),
        (SageMakerResponse, "update_endpoint", update_endpoint),
        (SageMakerResponse, "update_endpoint_weights_and_capacities", update_endpoint_weights_and_capacities),
        (SageMakerResponse, "create_endpoint_config", create_endpoint_config),
        (SageMakerResponse, "create_endpoint", create_endpoint),
        (FakeEndpoint, "create_from_cloudformation_json", classmethod(create_endpoint_from_template)),
        (FakeEndpointConfig, "create_from_cloudformation_json", classmethod(create_config_from_template)),
    ]


def faults_route(context: ServerContext) -> Any:
    """``POST /moto-api/demo/endpoints/faults {"model_data_url", "latency_ms"?, "error_rate"?, "clear"?}``."""

    def faults(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        from tools.demo.emulators import endpoints  # noqa: PLC0415

        try:
            body = json.loads(request.get_data() or b"{}")
            fault = None
            if not body.get("clear"):
                fault = endpoints.Fault(
                    latency_ms=float(body.get("latency_ms", 0.0)), error_rate=float(body.get("error_rate", 0.0))
                )
            endpoints.inject_fault(str(body["model_data_url"]), fault)
        except (KeyError, ValueError, TypeError) as error:
            return 400, {"content-type": "application/json"}, json.dumps({"message": f"bad request: {error}"})
        log.info("fault for %s: %s", body["model_data_url"], fault)
        return 200, {"content-type": "application/json"}, json.dumps({"fault": fault and fault.__dict__})

    return faults


def flush_route(context: ServerContext) -> Any:
    """``POST /moto-api/demo/endpoints/flush``: write captures and publish metrics now; answers what was done."""

    def flush(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        from tools.demo.emulators import endpoints  # noqa: PLC0415

        done = endpoints.flush(_aws(context))
        body = {"capture_files": list(done.capture_files), "metric_data": done.metric_data}
        return 200, {"content-type": "application/json"}, json.dumps(body)

    return flush


def _flusher(context: ServerContext) -> None:
    from tools.demo.emulators import endpoints  # noqa: PLC0415

    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            done = endpoints.flush(_aws(context))
            if done.capture_files or done.metric_data:
                log.info("endpoints: %d capture file(s), %d metric value(s)", len(done.capture_files), done.metric_data)
        except Exception:
            log.exception("endpoint capture/metric flush failed; retrying in %.0f s", FLUSH_SECONDS)


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls  # noqa: PLC0415

    for owner, name, value in replacements(context):
        setattr(owner, name, value)
    urls.url_paths[FLUSH_PATH] = flush_route(context)
    urls.url_paths[FAULTS_PATH] = faults_route(context)
    threading.Thread(target=_flusher, args=(context,), name="endpoint-flush", daemon=True).start()

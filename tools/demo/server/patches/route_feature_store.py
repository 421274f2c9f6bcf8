"""Routing: the Feature Store runtime API answers from ``tools.demo.emulators.feature_store``.

Gap: moto has no Feature Store runtime: PutRecord, GetRecord and BatchGetRecord reach moto's SageMaker app
(the runtime signs as ``sagemaker``; moto/moto_server/werkzeug_app.py routes it there), whose only route is
``/`` (moto/sagemaker/urls.py ``url_paths``), so every call is a 404 "Not yet implemented".

Patch: the SageMaker app gets the runtime's REST routes, ``PUT``/``GET /FeatureGroup/<name>`` and
``POST /BatchGetRecord``, answered by ``feature_store.put_record``, ``get_record`` and ``batch_get_record``
with the runtime's JSON shapes and errors (``ValidationError`` 400, ``ResourceNotFound`` 404).
``DeleteRecord`` is not emulated (the app does not call it) and answers 400. Feature Store writes records to
the offline store by itself, within 15 minutes in AWS; here a server thread calls ``feature_store.flush_offline``
for every group with pending records every ``OFFLINE_FLUSH_SECONDS`` (each flush writes a file per event-time
hour, as Feature Store does, so flushing less often writes fewer, larger files), and
``POST /moto-api/demo/featurestore/flush`` does it at once (the demo's driver, before a pipeline reads the
offline store).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.featurestore")
GROUP_PATH = "{0}/FeatureGroup/(?P<FeatureGroupName>[^/]+)$"
OFFLINE_FLUSH_SECONDS = 60.0
FLUSH_PATH = "{0}/moto-api/demo/featurestore/flush$"
BATCH_PATH = "{0}/BatchGetRecord$"


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    headers = {"content-type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"__type": code, "message": message})


def handle(context: ServerContext, request: Any, full_url: str) -> tuple[int, dict[str, str], str]:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from tools.demo.emulators import feature_store  # noqa: PLC0415
    from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

    aws = emulator_aws(context)
    url = urlparse(full_url)
    query = parse_qs(url.query)
    body = json.loads(request.get_data() or b"{}")
    try:
        if url.path.endswith("/BatchGetRecord") and request.method == "POST":
            result = feature_store.batch_get_record(aws, **body)
        elif request.method == "PUT":
            result = feature_store.put_record(aws, FeatureGroupName=unquote(url.path.rsplit("/", 1)[1]), **body)
        elif request.method == "GET":
            result = feature_store.get_record(
                aws,
                FeatureGroupName=unquote(url.path.rsplit("/", 1)[1]),
                RecordIdentifierValueAsString=query["RecordIdentifierValueAsString"][0],
                FeatureNames=query.get("FeatureName", []),
            )
        else:
            return _error(400, "ValidationError", f"{request.method} {url.path} is not emulated by the demo")
    except feature_store.ValidationError as error:
        if str(error).startswith("ResourceNotFound"):
            return _error(404, "ResourceNotFound", str(error))
        return _error(400, "ValidationError", str(error))
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        return _error(status, str(error.response["Error"]["Code"]), str(error.response["Error"]["Message"]))
    return 200, {"content-type": "application/json"}, json.dumps(result)


def flush_pending(context: ServerContext) -> list[str]:
    """Write every group's pending records to its offline store; returns the files written."""
    from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415

    from tools.demo.emulators import feature_store  # noqa: PLC0415
    from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

    written: list[str] = []
    groups = list(sagemaker_backends[context.account][context.region].feature_groups.values())
    for group in groups:
        if getattr(group, "emulated_pending", None):
            files = feature_store.flush_offline(emulator_aws(context), group.feature_group_name)
            log.info("offline store of %s: %d file(s) written", group.feature_group_name, len(files))
            written += files
    return written


def _flusher(context: ServerContext) -> None:
    while True:
        time.sleep(OFFLINE_FLUSH_SECONDS)
        try:
            flush_pending(context)
        except Exception:
            log.exception("offline store flush failed; retrying in %.0f s", OFFLINE_FLUSH_SECONDS)


def flush_route(context: ServerContext) -> Any:
    def flush(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        files = flush_pending(context)
        return 200, {"content-type": "application/json"}, json.dumps({"files": files})

    return flush


def apply(context: ServerContext) -> None:
    from moto.moto_api._internal import urls as api_urls  # noqa: PLC0415
    from moto.sagemaker import urls  # noqa: PLC0415

    threading.Thread(target=_flusher, args=(context,), name="offline-store", daemon=True).start()

    def runtime(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        return handle(context, request, full_url)

    urls.url_paths[GROUP_PATH] = runtime
    urls.url_paths[BATCH_PATH] = runtime
    api_urls.url_paths[FLUSH_PATH] = flush_route(context)

"""boto3 clients created on first use and reused for the life of the execution environment.

Creating a client loads its service model (25-40 ms each for DynamoDB, S3, the Feature Store runtime), which
at import time would more than double a handler's cold start. A ``LazyClient`` stands in for the client,
creates it the first time an attribute is used, and then behaves exactly like it; a function that never
touches a service (the single-event ingestion path without a reject never touches S3) never pays for it.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3  # imported at init like every function's floor; only the per-service model load is deferred
from botocore.config import Config

DEFAULT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})


class LazyClient:
    def __init__(self, service: str, config: Config = DEFAULT_CONFIG) -> None:
        self._service = service
        self._config = config
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = boto3.client(self._service, config=self._config)
                client = self._client
        return getattr(client, name)


# The step functions' clients (deployment and retraining): a state machine step may wait, so more retries.
STEP_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

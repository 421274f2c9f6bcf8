"""Powertools logger and metrics, created once per execution environment and shared by every handler.

Tracer is not imported here: X-Ray tracing is enabled on the function (active tracing) and boto3 calls are
traced by the runtime; importing Powertools' Tracer costs ~0.4 s of cold start
(docs/aws-facts.md#powertools-tracer-import-cost).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

"""Powertools logger and metrics, created once per execution environment and shared by every handler.

Tracer is not imported here: X-Ray active tracing on the function traces each invocation and its init, but
the AWS calls inside become subsegments only with the X-Ray SDK, whose import creates a client and would put
every function over its cold-start budget (docs/aws-facts.md#powertools-tracer-import-cost, ADR 0017).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

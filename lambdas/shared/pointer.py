"""The serving pointer: the SSM parameter naming the model package that serves (docs/architecture.md#serving-pointer).

Read by the deployment functions (prepare: what serves now) and the retraining functions (start_pipeline: the
champion the candidate is compared with).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def read_pointer(ssm: Any, parameter: str) -> str | None:
    """The serving model package ARN, or None when the parameter is missing or holds no ARN (placeholder)."""
    try:
        value: str = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    value = value.strip()
    return value if value.startswith("arn:") else None

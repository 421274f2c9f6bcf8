"""Environment of the capture-window step, validated once into a frozen dataclass.

==========================  ======================  ==============================================================
Variable                    Default                 Meaning
==========================  ======================  ==============================================================
``MODEL_NAME``              required                the spec's name, e.g. ``fraud-detection`` (metric dimension)
``ENVIRONMENT``             required                ``dev`` / ``staging`` / ``prod`` (metric dimension)
``ENDPOINT_NAME``           required                the serving endpoint (the capture path's first segment)
``DATA_CAPTURE_S3_URI``     required                the endpoint config's ``DestinationS3Uri`` (without endpoint
                                                    name), e.g. ``s3://bucket/fraud-detection/data-capture``
``WINDOW_HOURS``            required                length of one monitoring window in whole hours, 1-24
``REPORTS_BUCKET``          required                bucket of the manifest and of the job's outputs (a name, not
                                                    a URI)
``REPORTS_PREFIX``          required                key prefix of the windows, e.g. ``monitoring/fraud-detection``
``METRICS_NAMESPACE``       ``MLOps/DataQuality``   CloudWatch namespace of ``CaptureObjects``
==========================  ======================  ==============================================================

Surrounding whitespace is ignored, and so are slashes around ``REPORTS_PREFIX`` and the URI's prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_METRICS_NAMESPACE = "MLOps/DataQuality"
MAX_WINDOW_HOURS = 24

# SageMaker endpoint names: ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# S3 bucket names (general purpose): 3-63 lowercase letters, digits, dots and hyphens.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# CloudWatch namespaces: 1-255 of letters, digits, ``. - _ / # :`` and spaces; ``AWS/`` is reserved.
_NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#: ]{1,255}")


class MonitoringConfigError(ValueError):
    """The function's configuration is incomplete or invalid; ``variables`` (and the message) name the culprits."""

    def __init__(self, message: str, *variables: str) -> None:
        super().__init__(message)
        self.variables = variables


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    @classmethod
    def parse(cls, uri: str, *, variable: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise MonitoringConfigError(f"{variable} must be an s3:// URI, got {uri!r}", variable)
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not _BUCKET_NAME.fullmatch(bucket):
            raise MonitoringConfigError(f"{variable} has no valid bucket name: {uri!r}", variable)
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        """``prefix/part/part``: the key of ``parts`` under this location (no trailing slash)."""
        return "/".join(p for p in (self.prefix, *parts) if p)

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"


@dataclass(frozen=True, kw_only=True)
class WindowSettings:
    model_name: str
    environment: str
    endpoint_name: str
    data_capture: S3Location
    window_hours: int
    reports: S3Location
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE

    REQUIRED = (
        "MODEL_NAME",
        "ENVIRONMENT",
        "ENDPOINT_NAME",
        "DATA_CAPTURE_S3_URI",
        "WINDOW_HOURS",
        "REPORTS_BUCKET",
        "REPORTS_PREFIX",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WindowSettings:
        missing = [name for name in cls.REQUIRED if not environ.get(name, "").strip()]
        if missing:
            raise MonitoringConfigError(f"missing environment variables: {', '.join(missing)}", *missing)
        endpoint = environ["ENDPOINT_NAME"].strip()
        if not _ENDPOINT_NAME.fullmatch(endpoint):
            raise MonitoringConfigError(
                f"ENDPOINT_NAME is not a SageMaker endpoint name: {endpoint!r}", "ENDPOINT_NAME"
            )
        bucket = environ["REPORTS_BUCKET"].strip()
        if not _BUCKET_NAME.fullmatch(bucket):
            raise MonitoringConfigError(
                f"REPORTS_BUCKET must be a bucket name (not a URI or path), got {bucket!r}", "REPORTS_BUCKET"
            )
        prefix = environ["REPORTS_PREFIX"].strip().strip("/")
        if not prefix:
            raise MonitoringConfigError("REPORTS_PREFIX must be a non-empty key prefix", "REPORTS_PREFIX")
        namespace = environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE
        if not _NAMESPACE.fullmatch(namespace) or namespace.startswith("AWS/"):
            raise MonitoringConfigError(
                f"METRICS_NAMESPACE is not a usable CloudWatch namespace: {namespace!r}", "METRICS_NAMESPACE"
            )
        return cls(
            model_name=environ["MODEL_NAME"].strip(),
            environment=environ["ENVIRONMENT"].strip(),
            endpoint_name=endpoint,
            data_capture=S3Location.parse(environ["DATA_CAPTURE_S3_URI"].strip(), variable="DATA_CAPTURE_S3_URI"),
            window_hours=_integer(environ, "WINDOW_HOURS", 1, MAX_WINDOW_HOURS),
            reports=S3Location(bucket, prefix),
            metrics_namespace=namespace,
        )


def _integer(environ: Mapping[str, str], name: str, low: int, high: int) -> int:
    text = environ[name].strip()
    try:
        value = int(text)
    except ValueError:
        raise MonitoringConfigError(f"{name} must be an integer, got {text!r}", name) from None
    if not (low <= value <= high):
        raise MonitoringConfigError(f"{name} must be in [{low}, {high}], got {value}", name)
    return value

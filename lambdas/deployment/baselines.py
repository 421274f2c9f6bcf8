"""Publishing the serving model's monitoring baselines to the stable "current baseline" prefix.

Both monitoring backends read ``<CURRENT_BASELINE_S3_URI>/data-quality/{statistics,constraints}.json`` and
``<CURRENT_BASELINE_S3_URI>/model-quality/constraints.json``; promote and rollback copy the package's
``DriftCheckBaselines`` (registered by the pipeline) there before the serving pointer moves, so monitoring
always compares traffic with the baseline of the model that serves it. Copies are idempotent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from lambdas.deployment.errors import PackageNotFound
from lambdas.shared.observability import logger

# (path in DriftCheckBaselines, file under the current prefix)
BASELINE_FILES = (
    (("ModelDataQuality", "Statistics"), "data-quality/statistics.json"),
    (("ModelDataQuality", "Constraints"), "data-quality/constraints.json"),
    (("ModelQuality", "Constraints"), "model-quality/constraints.json"),
)


def _split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"'{uri}' is not an s3:// URI")
    return parsed.netloc, parsed.path.lstrip("/")


def publish_current_baselines(sagemaker: Any, s3: Any, *, package_arn: str, current_uri: str) -> list[str]:
    """Copy the package's drift-check baselines under ``current_uri``; returns the files published.

    A package without baselines (for example the bootstrap package) publishes nothing and says so in the log:
    the previous baselines stay, which is the safer choice than deleting them.
    """
    try:
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    except sagemaker.exceptions.ClientError as error:
        raise PackageNotFound(f"model package '{package_arn}' cannot be described: {error}") from None
    baselines = package.get("DriftCheckBaselines") or {}
    bucket, prefix = _split(current_uri.rstrip("/"))
    published: list[str] = []
    for (section, kind), name in BASELINE_FILES:
        source = ((baselines.get(section) or {}).get(kind) or {}).get("S3Uri")
        if not source:
            continue
        source_bucket, source_key = _split(source)
        s3.copy_object(
            Bucket=bucket,
            Key=f"{prefix}/{name}",
            CopySource={"Bucket": source_bucket, "Key": source_key},
            MetadataDirective="REPLACE",
            Metadata={"model-package-arn": package_arn},
        )
        published.append(name)
    if not published:
        logger.warning(
            "model package has no drift-check baselines; current baselines unchanged",
            extra={"model_package_arn": package_arn},
        )
    return published

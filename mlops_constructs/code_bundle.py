"""Source files shipped to S3 for SageMaker jobs, under a content-addressed prefix.

``s3://<bucket>/code/<name>/<sha256 of paths, bytes and extra files>/``: a change to any file is a new prefix
(and so a new pipeline definition or job request), never a silent in-place edit under a running job. Earlier
bundles are kept (``prune=False``): running executions and registered packages refer to them. Uploaded with
CDK's BucketDeployment, whose provider Lambda is CDK-owned; its cdk-nag findings are acknowledged here once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from mlops_constructs.python_function import retention

ROOT = Path(__file__).resolve().parent.parent
_BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _files(includes: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for entry in includes:
        path = ROOT / entry
        if path.is_file():
            files.append(path)
        else:
            files.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                )
            )
    return files


def bundle_hash(includes: Sequence[str], extra_files: Mapping[str, str]) -> str:
    """Content hash of the bundle: every included file's path and bytes, and the extra files."""
    digest = hashlib.sha256()
    for path in _files(includes):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in sorted(extra_files):
        digest.update(name.encode() + b"\0" + extra_files[name].encode() + b"\0")
    return digest.hexdigest()[:16]


def _excludes(includes: Sequence[str]) -> list[str]:
    """Git-style patterns keeping only ``includes`` (files or directories, relative to the repository)."""
    patterns = ["*"]
    for entry in includes:
        parts = entry.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            patterns += [f"!{parent}/", f"{parent}/*"]
        patterns.append(f"!{entry}" if (ROOT / entry).is_file() else f"!{entry}/")
        if not (ROOT / entry).is_file():
            patterns.append(f"!{entry}/**")
    # Re-including a parent also re-excludes its other children; keep the includes themselves included.
    for entry in includes:
        patterns.append(f"!{entry}" if (ROOT / entry).is_file() else f"!{entry}/**")
    return [*patterns, "**/__pycache__/", "**/*.pyc"]


class CodeBundle(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        includes: Sequence[str],
        extra_files: Mapping[str, str],
        bucket: s3.IBucket,
        key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id_)
        self.prefix = f"code/{name}/{bundle_hash(includes, extra_files)}"
        self.s3_uri = f"s3://{bucket.bucket_name}/{self.prefix}"
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Upload",
            sources=[
                s3deploy.Source.asset(str(ROOT), exclude=_excludes(includes), ignore_mode=cdk.IgnoreMode.GIT),
                *(s3deploy.Source.data(file, content) for file, content in sorted(extra_files.items())),
            ],
            destination_bucket=bucket,
            destination_key_prefix=self.prefix,
            prune=False,
            retain_on_delete=True,
            server_side_encryption=s3deploy.ServerSideEncryption.AWS_KMS,
            server_side_encryption_aws_kms_key_id=key.key_arn,
            memory_limit=512,
            log_group=logs.LogGroup(
                self,
                "Logs",
                retention=retention(log_retention_days),
                encryption_key=key,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
        )
        self.deployment.handler_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn])
        )
        _acknowledge_provider(cdk.Stack.of(self), bucket)


def _acknowledge_provider(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    singleton = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
    partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
    bootstrap_assets = f"cdk-hnb659fds-assets-{stack.account}-{stack.region}"
    groups = (
        "CDK's BucketDeployment grants read on the CDK asset and write on the code prefix with its standard "
        "action groups."
    )
    reasons = {
        f"AwsSolutions-IAM4[Policy::{_BASIC_EXECUTION_ROLE}]": "CDK's BucketDeployment provider attaches the basic "
        "execution role for its own logs.",
        "AwsSolutions-L1": "CDK's BucketDeployment provider pins its runtime with the aws-cdk-lib version.",
        **{
            f"AwsSolutions-IAM5[Action::{action}]": groups
            for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*")
        },
        f"AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{bootstrap_assets}/*]": "The provider reads the bundle's "
        "asset zip from the CDK bootstrap bucket.",
        f"AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{bucket.bucket_name}/*]": "The provider's write grant "
        "covers the destination bucket; objects land under the code prefix.",
    }
    for finding, reason in reasons.items():
        cdk.Validations.of(singleton).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))

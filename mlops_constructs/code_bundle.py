"""Source files for SageMaker jobs, shipped as one CDK file asset: a zip in the bootstrap assets bucket.

The bundle (files of the repository plus generated files such as ``spec.json``) is staged into a directory of
the cloud assembly and referenced as an ``aws_s3_assets.Asset``: the CDK CLI zips it and uploads it to
``s3://cdk-<qualifier>-assets-<account>-<region>/<sha256 of the bundle>.zip`` when it publishes the stack's
assets, before the stack deploys. No custom resource copies anything (nothing runs a Lambda to deploy code),
and the key is the content hash: a change to any file is a new key, so a new pipeline definition or job
request, never a silent in-place edit under a running job. Earlier zips stay in the bucket for executions that
still reference them (``cdk gc`` keeps assets that deployed stacks reference).

A job gets the zip as its ``code`` input (``pipeline_defs.definition.bundle_input``) and unpacks it with the
standard library before it runs (``bundle_entrypoint``). ``grant_read`` lets a job role read exactly that
object. The bootstrap bucket is encrypted with the AWS managed S3 key (``cdk bootstrap``'s default) or the
bootstrap's own key, whose policy lets the account's principals use it through S3: a reader needs no KMS
statement of its own (docs/aws-facts.md#cdk-file-assets).

IAM: S3 access by hand-written statements, because ``bucket.grant_*`` would be wider
(docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
STAGING_DIR = "code-bundles"  # under the cloud assembly's root directory


def bundle_files(includes: Sequence[str], *, root: Path | None = None) -> list[Path]:
    """Every file of ``includes`` (files or directories relative to ``root``, by default the repository), without
    bytecode caches."""
    root = root or ROOT
    files: list[Path] = []
    for entry in includes:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
                )
            )
        else:
            raise ValueError(f"code bundle: '{entry}' is neither a file nor a directory under {root}")
    return files


def stage_bundle(
    outdir: Path, *, includes: Sequence[str], extra_files: Mapping[str, str], root: Path | None = None
) -> Path:
    """Copy the bundle into ``outdir/code-bundles/<content hash>/`` (once per content) and return that directory.

    The directory name is a hash of the files' paths and bytes, so two bundles with the same content share one
    directory, and the asset CDK makes of it gets the same key.
    """
    root = root or ROOT
    contents = {p.relative_to(root).as_posix(): p.read_bytes() for p in bundle_files(includes, root=root)}
    for name, text in extra_files.items():
        if name in contents:
            raise ValueError(f"code bundle: extra file '{name}' would replace a file of the bundle")
        contents[name] = text.encode("utf-8")
    digest = hashlib.sha256()
    for name in sorted(contents):
        digest.update(name.encode() + b"\0" + contents[name] + b"\0")
    target = outdir / STAGING_DIR / digest.hexdigest()
    if not target.is_dir():
        scratch = target.with_name(target.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        for name, content in contents.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        scratch.rename(target)
    return target


class CodeBundle(Construct):
    """One zip of source files for SageMaker jobs, as a CDK file asset.

    Attributes: ``s3_uri`` (``s3://<bootstrap assets bucket>/<hash>.zip``, or ``<hash>.<suffix>`` for a
    ``single_file`` asset; concrete when the stack's account and region are), ``bucket_name``, ``object_key``,
    and ``asset`` (the ``aws_s3_assets.Asset``).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        includes: Sequence[str],
        extra_files: Mapping[str, str],
        single_file: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        stage = cdk.Stage.of(self)
        if stage is None:
            raise ValueError("code bundle: the construct must be inside an App or a Stage")
        if single_file is not None and (includes or set(extra_files) != {single_file}):
            raise ValueError(f"code bundle: a single-file asset holds only its one extra file '{single_file}'")
        staged = stage_bundle(Path(stage.outdir), includes=includes, extra_files=extra_files)
        # A directory becomes a zip; one file is uploaded as it is (``<hash>.py``): a URI that must name a
        # script, such as Model Monitor's record preprocessor, gets the script itself.
        self.asset = s3_assets.Asset(self, "Zip", path=str(staged / single_file if single_file else staged))
        self.bucket_name = self.asset.s3_bucket_name
        self.object_key = self.asset.s3_object_key
        self.s3_uri = self.asset.s3_object_url

    def grant_read(self, role: iam.IRole) -> None:
        """Read of exactly the bundle's object: ``s3:GetObject`` on it, and ``s3:ListBucket`` of the bucket only
        for its key (SageMaker lists an ``S3Prefix`` input before it downloads it)."""
        stack = cdk.Stack.of(self)
        bucket_arn = stack.format_arn(service="s3", region="", account="", resource=self.bucket_name)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"{bucket_arn}/{self.object_key}"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [self.object_key]}},
            )
        )

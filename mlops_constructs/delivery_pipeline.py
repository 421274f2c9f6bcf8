"""The app's own delivery pipeline (ADR 0023): CDK Pipelines, self-mutating, in the tooling account.

Source: the repository through a CodeConnections connection. Synth: CodeBuild runs what CI runs (``make test``, which
installs the pinned venv and CLI itself) and then ``make synth``, whose ``cdk.out`` is the pipeline's cloud assembly.
Then the pipeline updates itself, publishes the assets once per environment, and deploys each environment's stage in
the order given, through the bootstrap roles of that environment's account (``cdk bootstrap --trust``), with a
manual approval before the stages ``manual_approval_before`` names. docs/aws-facts.md#cdk-pipelines has the facts.

Secure defaults on what CDK Pipelines generates: cross-account KMS keys with rotation for the artifact bucket, the
bucket's server access logs into a log bucket of its own, and the CodeBuild logs in one log group with retention,
encrypted with the artifact key. What cannot be changed is acknowledged finding by finding, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines, region_info
from constructs import Construct

from config import DeliverySettings
from mlops_constructs.encryption import cloudwatch_logs_statement
from mlops_constructs.nag import logical_id
from mlops_constructs.python_function import retention
from mlops_constructs.secure_bucket import AccessLogBucket

# What CI runs (.ci/run's `make test`); `make synth` then writes cdk.out, the pipeline's cloud assembly.
SYNTH_COMMANDS = ("make test", "make synth")
# The venv is Python 3.11 (pyproject's target); CodeBuild's standard image selects it per build.
_PYTHON_RUNTIME = "3.11"
_ARTIFACT_LOG_PREFIX = "artifacts/"


class DeliveryPipeline(Construct):
    """A CDK Pipelines ``CodePipeline`` that deploys ``stages`` in order (see the module docstring)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: DeliverySettings,
        stages: Sequence[cdk.Stage],
        cli_version: str,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        self.source = pipelines.CodePipelineSource.connection(
            settings.repository,
            settings.branch,
            connection_arn=settings.connection_arn,
            # CodeBuild clones the repository instead of receiving a zip without .git: the suite reads the
            # repository's files through `git ls-files` (tests/unit/test_self_contained.py).
            code_build_clone_output=True,
        )
        self.build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            retention=retention(settings.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.synth_step = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
            # The whole suite (synths, moto, local training runs) runs here: MEDIUM (4 vCPUs, 7 GB) rather than
            # the default SMALL (2 vCPUs, 3 GB).
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
            ),
            partial_build_spec=codebuild.BuildSpec.from_object(
                {"phases": {"install": {"runtime-versions": {"python": _PYTHON_RUNTIME}}}}
            ),
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=self.synth_step,
            self_mutation=True,
            cross_account_keys=True,
            enable_key_rotation=True,
            # The SelfMutate step deploys with the CLI the repository pins (package.json), not "latest 2.x".
            cli_version=cli_version,
            # One CodeBuild project publishes every file asset (fewer projects and roles than one per asset).
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_logs)
                )
            ),
        )
        self.approvals: dict[str, pipelines.ManualApprovalStep] = {}
        for stage in stages:
            pre: list[pipelines.Step] = []
            if stage.stage_name in settings.manual_approval_before:
                approval = pipelines.ManualApprovalStep(
                    f"Approve-{stage.stage_name}",
                    comment=f"Deploy the app to {stage.stage_name} ({stage.account}, {stage.region})?",
                )
                self.approvals[stage.stage_name] = approval
                pre.append(approval)
            self.pipeline.add_stage(stage, pre=pre)
        self.pipeline.build_pipeline()

        artifacts = self.pipeline.pipeline.artifact_bucket
        self.artifact_key = cast(kms.Key, artifacts.encryption_key)
        self._log_artifact_access(artifacts, stack=stack, expiration=cdk.Duration.days(settings.log_retention_days))
        self._encrypt_build_logs(stack)
        self._acknowledge_generated_wildcards(artifacts, stack=stack)

    def _log_artifact_access(self, artifacts: s3.IBucket, *, stack: cdk.Stack, expiration: cdk.Duration) -> None:
        """Server access logs for the generated artifact bucket, which CDK Pipelines gives no logging option."""
        self.access_logs = AccessLogBucket(
            self, "AccessLogs", removal_policy=cdk.RemovalPolicy.RETAIN, expiration=expiration
        )
        cfn = cast(s3.CfnBucket, artifacts.node.default_child)
        cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=self.access_logs.bucket.bucket_name, log_file_prefix=_ARTIFACT_LOG_PREFIX
        )
        # What the L2 adds for its own buckets: the logging service may write under the prefix, for this source only.
        self.access_logs.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs.bucket.arn_for_objects(f"{_ARTIFACT_LOG_PREFIX}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": artifacts.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )

    def _encrypt_build_logs(self, stack: cdk.Stack) -> None:
        """The build log group is encrypted with the artifact key, which exists only once the pipeline is built."""
        cfn = cast(logs.CfnLogGroup, self.build_logs.node.default_child)
        cfn.kms_key_id = self.artifact_key.key_arn
        # This account's log groups: naming the build log group would make the key and it depend on each other.
        self.artifact_key.add_to_resource_policy(cloudwatch_logs_statement(stack))

    def _acknowledge_generated_wildcards(self, artifacts: s3.IBucket, *, stack: cdk.Stack) -> None:
        """cdk-nag IAM5 findings on the roles CDK Pipelines writes, which take no narrower statement."""
        artifact_reason = (
            "CDK's grants on the pipeline's own artifact bucket and key, which hold nothing but this pipeline's "
            "artifacts: objects are named per execution and action, and the grant names action families "
            "(read, write, abort uploads; data keys, re-encryption) rather than single actions."
        )
        for finding in (
            f"Resource::<{logical_id(artifacts)}.Arn>/*",
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            "Action::kms:GenerateDataKey*",
            "Action::kms:ReEncrypt*",
        ):
            cdk.Validations.of(self).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=artifact_reason)
            )
        partition = region_info.RegionInfo.get(stack.region).partition or "aws"
        codebuild_arn = f"arn:{partition}:codebuild:{stack.region}:{stack.account}"
        logs_arn = f"arn:{partition}:logs:{stack.region}:{stack.account}"
        for project in (self.pipeline.synth_project, self.pipeline.self_mutation_project):
            project_id = f"<{logical_id(project)}>"
            for finding in (
                f"Resource::{logs_arn}:log-group:/aws/codebuild/{project_id}:*",
                f"Resource::{codebuild_arn}:report-group/{project_id}-*",
            ):
                cdk.Validations.of(project).acknowledge(
                    cdk.Acknowledgment(
                        id=f"AwsSolutions-IAM5[{finding}]",
                        reason="CodeBuild's own grant to the project: log streams and report groups are named by "
                        "build at run time under the project's name.",
                    )
                )
        cdk.Validations.of(self.pipeline.self_mutation_project).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:*:iam::{stack.account}:role/*]",
                reason="The self-update runs cdk deploy, which assumes the tooling account's bootstrap roles; the "
                "statement is limited by iam:ResourceTag/aws-cdk:bootstrap-role to the deploy and publishing roles.",
            ),
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="cloudformation:DescribeStacks and s3:ListBucket, which the CDK CLI calls on the bootstrap "
                "stack and bucket it discovers at run time during the self-update.",
            ),
        )
        assets = self.pipeline.node.find_child("Assets").node.find_child("FileRole")
        cdk.Validations.of(assets).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="CDK Pipelines' one asset-publishing role also starts and watches the asset CodeBuild builds "
                "(codebuild:StartBuild, BatchGetBuilds, StopBuild), generated on '*'; it publishes only through the "
                "environments' file-publishing roles it names.",
            ),
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{logs_arn}:log-group:/aws/codebuild/*]",
                reason="The asset-publishing role is shared by every asset project, whose log groups CodeBuild "
                "names after the project at run time.",
            ),
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{codebuild_arn}:report-group/*]",
                reason="The asset-publishing role is shared by every asset project, whose report groups CodeBuild "
                "names after the project at run time.",
            ),
        )

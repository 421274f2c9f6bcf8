"""The SageMaker training pipeline of one model, embedded in ``AWS::SageMaker::Pipeline``.

The definition is built at synth by ``pipeline_defs.definition`` (SageMaker Python SDK v3, offline and
deterministic). Values only CloudFormation knows are ``${Name}`` placeholders filled by ``Fn::Sub`` from
functions the Fn::Sub documentation allows in its variable map: the pipeline role (``Fn::GetAtt``) and the
platform key's ARN (``Ref`` of an SSM-typed template parameter: the platform stack publishes the ARN as an SSM
parameter, ``mlops_constructs/encryption.py``). Bucket names are deterministic (ADR 0005) and passed as they
are. The step scripts ship as a code bundle, a CDK file asset (``mlops_constructs/code_bundle.py``) whose key
is its content hash, so a script change is a new key and a new definition, never a silent in-place change.
The rendered definition is written beside the stack's template in ``cdk.out`` for review.

IAM: S3 access by hand-written statements, because ``bucket.grant_*`` would be wider
(docs/aws-facts.md#cdk-grant-methods).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from config import ModelDeployment
from mlops_constructs.athena import glue_database_name, labels_table_name, workgroup_name
from mlops_constructs.code_bundle import CodeBundle
from mlops_constructs.encryption import key_arn_parameter_name
from mlops_constructs.feature_store import glue_table_name
from mlops_constructs.nag import object_finding
from mlops_constructs.network import NetworkAccess
from mlops_constructs.permissions import allow_unscoped
from pipeline_defs.definition import PipelineContext, build_pipeline_definition, spec_json

# The code bundle: the step scripts, the shared feature module and the monitoring statistics module they import
# (pipeline_defs/definition.py). A test (tests/unit/pipeline_definition/test_images.py) follows every step's
# imports through exactly these files.
BUNDLE_INCLUDES = (
    "pipeline_defs/__init__.py",
    "pipeline_defs/scripts",
    "lambdas/__init__.py",
    "lambdas/shared",
    "monitor_stats",
)


class TrainingPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        offline_store_bucket: s3.IBucket,
        ground_truth_bucket: s3.IBucket,
        model_package_group_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        stack = cdk.Stack.of(self)
        spec = deployment.spec
        self.code = CodeBundle(self, "Code", includes=BUNDLE_INCLUDES, extra_files={"spec.json": spec_json(spec)})
        self.pipeline_name = deployment.pipeline_name
        self.runs_prefix = f"pipelines/{deployment.pipeline_name}"

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Runs the {deployment.pipeline_name} pipeline and its jobs",
        )
        self._grant(
            deployment=deployment,
            key=key,
            artifacts=artifacts_bucket,
            offline_store=offline_store_bucket,
            ground_truth=ground_truth_bucket,
            model_package_group_arn=model_package_group_arn,
        )
        self.code.grant_read(self.role)
        network = NetworkAccess.of(self, deployment.env)
        # In the isolated mode every job runs in the platform's subnets and security group; their IDs come in as
        # Fn::Sub variables like the key's ARN (SSM-typed template parameters, or literals of an existing VPC).
        network_variables: dict[str, str] = {}
        if network is not None:
            network.grant_sagemaker_vpc_access(self.role)
            network_variables = {f"Subnet{i}": subnet for i, subnet in enumerate(network.subnet_ids)}
            network_variables["SecurityGroup"] = network.security_group_id

        context = PipelineContext(
            region=deployment.env.region,
            role_arn="${PipelineRoleArn}",
            artifacts_bucket=artifacts_bucket.bucket_name,
            offline_store_bucket=offline_store_bucket.bucket_name,
            ground_truth_bucket=ground_truth_bucket.bucket_name,
            kms_key_arn="${KmsKeyArn}",
            code_bundle=self.code.s3_uri,
            glue_database=glue_database_name(deployment.env.name),
            athena_workgroup=workgroup_name(deployment.env.name),
            labels_table=labels_table_name(deployment),
            subnets=tuple(f"${{Subnet{i}}}" for i in range(len(network.subnet_ids))) if network else (),
            security_group_ids=("${SecurityGroup}",) if network else (),
        )
        self.definition = build_pipeline_definition(deployment, context)
        stage = cdk.Stage.of(self)
        if stage is not None:  # beside the stack's template, for review
            outdir = Path(stage.outdir)
            outdir.mkdir(parents=True, exist_ok=True)
            (outdir / f"{stack.artifact_id}.pipeline-definition.json").write_text(self.definition + "\n")

        # Fn::Sub's variable map takes Ref and Fn::GetAtt (among others), not a cross-stack Fn::GetStackOutput: the
        # key's ARN comes in as a template parameter resolved from the platform's SSM parameter at deploy time.
        self.key_arn = ssm.StringParameter.value_for_string_parameter(self, key_arn_parameter_name(deployment.env.name))
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=deployment.pipeline_name,
            pipeline_description=f"Retrains {spec.name} in {deployment.env.name}; registers only a candidate that "
            f"clears {spec.objective.value} >= threshold and beats the champion",
            role_arn=self.role.role_arn,
            pipeline_definition={
                "PipelineDefinitionBody": cdk.Fn.sub(
                    self.definition,
                    {"PipelineRoleArn": self.role.role_arn, "KmsKeyArn": self.key_arn, **network_variables},
                )
            },
        )
        self.pipeline.node.add_dependency(self.role)

    @property
    def pipeline_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="pipeline", resource_name=self.pipeline_name.lower()
        )

    def _grant(
        self,
        *,
        deployment: ModelDeployment,
        key: kms.IKey,
        artifacts: s3.IBucket,
        offline_store: s3.IBucket,
        ground_truth: s3.IBucket,
        model_package_group_arn: str,
    ) -> None:
        stack = cdk.Stack.of(self)
        spec = deployment.spec
        database = glue_database_name(deployment.env.name)
        feature_tables = [glue_table_name(deployment.feature_group_name(g.name)) for g in spec.feature_groups]

        catalog = stack.format_arn(service="glue", resource="catalog")
        database_arn = stack.format_arn(service="glue", resource="database", resource_name=database)
        registered = f"{deployment.registered_artifacts_prefix}/*"

        def job_arn(kind: str) -> str:
            return stack.format_arn(service="sagemaker", resource=kind, resource_name="pipelines-*")

        statements = [
            # The jobs the pipeline starts (SageMaker names them pipelines-<execution>-<step>-...).
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[job_arn("processing-job"), job_arn("training-job")],
            ),
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelPackage"],
                resources=[
                    model_package_group_arn,
                    stack.format_arn(
                        service="sagemaker",
                        resource="model-package",
                        resource_name=f"{deployment.model_package_group_name}/*",
                    ),
                ],
            ),
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackageGroup"], resources=[model_package_group_arn]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            # The dataset step runs its point-in-time query on Athena over the offline store and the labels.
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[
                    stack.format_arn(
                        service="athena", resource="workgroup", resource_name=workgroup_name(deployment.env.name)
                    )
                ],
            ),
            iam.PolicyStatement(actions=["glue:GetDatabase"], resources=[catalog, database_arn]),
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetPartitions"],
                resources=[
                    catalog,
                    database_arn,
                    *(
                        stack.format_arn(service="glue", resource="table", resource_name=f"{database}/{table}")
                        for table in [*feature_tables, labels_table_name(deployment)]
                    ),
                ],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[artifacts.arn_for_objects("athena-results/*")],
            ),
            # Athena needs GetBucketLocation (with ListBucket and GetObject, below) on every bucket a query reads,
            # not only on its results bucket (docs/aws-facts.md#athena-source-buckets).
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation"],
                resources=[artifacts.bucket_arn, offline_store.bucket_arn, ground_truth.bucket_arn],
            ),
            # The executions' outputs, and every registered package's files: Evaluate downloads the champion's
            # model.tar.gz, which may be the bootstrap package's (the one layout rule, ModelDeployment).
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[artifacts.arn_for_objects(registered)]
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    offline_store.arn_for_objects(f"offline-store/{spec.name}/*"),
                    ground_truth.arn_for_objects(f"labels/{spec.name}/*"),
                ],
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[artifacts.bucket_arn, offline_store.bucket_arn, ground_truth.bucket_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"],
                resources=[key.key_arn],
            ),
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[
                    f"arn:{stack.partition}:ecr:{stack.region}:*:repository/sagemaker-xgboost",
                    f"arn:{stack.partition}:ecr:{stack.region}:*:repository/sagemaker-scikit-learn",
                ],
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"/aws/sagemaker/{kind}/*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for kind in ("ProcessingJobs", "TrainingJobs")
                ],
            ),
        ]
        for statement in statements:
            self.role.add_to_policy(statement)
        allow_unscoped(self.role, actions=["ecr:GetAuthorizationToken"], reason="the jobs pull framework images.")
        allow_unscoped(
            self.role,
            actions=["cloudwatch:PutMetricData"],
            reason="training jobs publish their metrics, limited to SageMaker namespaces.",
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        )
        partition = cdk.region_info.RegionInfo.get(stack.region).partition or "aws"
        sm_arn = f"arn:{partition}:sagemaker:{stack.region}:{stack.account}"
        ecr_arn = f"arn:{partition}:ecr:{stack.region}:*:repository"
        logs_arn = f"arn:{partition}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker"
        job_names = "SageMaker Pipelines names the jobs it starts pipelines-<execution id>-<step>-<suffix>."
        versions = "Registered versions are numbered by SageMaker."
        images = "Built-in and framework images live in AWS-owned registries whose account differs per region."
        reasons = {
            f"Resource::{sm_arn}:processing-job/pipelines-*": job_names,
            f"Resource::{sm_arn}:training-job/pipelines-*": job_names,
            f"Resource::{sm_arn}:model-package/{deployment.model_package_group_name}/*": versions,
            f"Resource::{ecr_arn}/sagemaker-xgboost": images,
            f"Resource::{ecr_arn}/sagemaker-scikit-learn": images,
            f"Resource::{logs_arn}/ProcessingJobs/*": "SageMaker names job log groups by job type.",
            f"Resource::{logs_arn}/TrainingJobs/*": "SageMaker names job log groups by job type.",
        }
        for finding, reason in reasons.items():
            cdk.Validations.of(self.role).acknowledge(
                cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
        for bucket, pattern, reason in (
            (
                artifacts,
                registered,
                "Each execution writes under its own prefix; registered packages' files (the bootstrap's "
                "included) live under the model's registered-artifacts prefix.",
            ),
            (
                offline_store,
                f"offline-store/{spec.name}/*",
                "Feature Store names offline-store files; the dataset step reads the model's groups.",
            ),
            (ground_truth, f"labels/{spec.name}/*", "Labels land per collection hour under the model's prefix."),
            (artifacts, "athena-results/*", "Athena names query result files by query execution id."),
        ):
            cdk.Validations.of(self.role).acknowledge(
                cdk.Acknowledgment(id=object_finding(self, bucket.bucket_name, pattern), reason=reason)
            )

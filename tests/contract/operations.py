"""What each AWS operation the project calls needs from IAM: the action(s), the resource ARN, the context keys.

One table, one entry per operation. Most operations need the action of the same name on the resource they
name; where IAM differs from the API, the entry says so and cites its source:

- S3 object operations on SSE-KMS buckets (every bucket of this project) also use the bucket's key: PutObject
  needs ``kms:GenerateDataKey``, GetObject/HeadObject ``kms:Decrypt``, CopyObject ``s3:GetObject`` and
  ``kms:Decrypt`` on the source and ``s3:PutObject`` and ``kms:GenerateDataKey`` on the destination
  (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", "Permissions"; Amazon S3
  API Reference, CopyObject). ListObjectsV2 is ``s3:ListBucket`` on the bucket, with ``s3:prefix``.
- DynamoDB ``TransactWriteItems`` is authorized per item as PutItem/UpdateItem/DeleteItem/ConditionCheckItem
  (Amazon DynamoDB Developer Guide, "Using IAM with DynamoDB transactions").
- SageMaker ``CreateEndpointConfig`` with a ``KmsKeyId`` (volume or data capture) needs ``kms:CreateGrant``
  (SageMaker creates a grant for the endpoint; ``kms:GrantIsForAWSResource`` is true) and ``kms:DescribeKey``
  (SageMaker API Reference, CreateEndpointConfig, KmsKeyId; AWS KMS Developer Guide, "kms:GrantIsForAWSResource").
- ``CreateModel`` passes its execution role: ``iam:PassRole`` with ``iam:PassedToService`` (SageMaker Developer
  Guide, "SageMaker roles"). Tags on a create need ``sagemaker:AddTags`` (dependent action in the reference).
- List and Search operations name no single resource, so they are checked against ``*``: a grant scoped to
  ARNs does not match them (the authorization reference lists no resource type, or only an optional one the
  request does not name, e.g. ListModelPackages; AWS's own AmazonSageMakerModelRegistryFullAccess grants it
  on ``*``).
- SNS ``Publish`` to a KMS-encrypted topic needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` on its key (Amazon
  SNS Developer Guide, "Encryption at rest", "Configuring AWS KMS permissions").
- ``sts:GetCallerIdentity`` needs no permission (AWS STS API Reference).
- ``PutMetricData`` supports only ``*`` and is scoped with ``cloudwatch:namespace``.
- Step Functions ``SendTaskSuccess``/``SendTaskFailure``/``SendTaskHeartbeat`` support only ``*`` (the task
  token names the execution).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.contract.iam import Request


@dataclass(frozen=True)
class Where:
    """The account, region and KMS layout a call is evaluated in."""

    account: str
    region: str
    bucket_keys: Mapping[str, str]  # bucket name -> ARN of the KMS key that encrypts it
    topic_keys: Mapping[str, str]  # topic ARN -> key ARN
    tables: Mapping[str, str] = field(default_factory=dict)  # "database.table" -> S3 location of its data
    workgroups: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)  # -> (result URI, key ARN)


class NotModelledError(KeyError):
    """An operation the table has no entry for."""


Builder = Callable[[Mapping[str, Any], Where], list[Request]]
TLS = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}  # boto3 always uses HTTPS


def _sm(where: Where, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{where.region}:{where.account}:{kind}/{name.lower()}"


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _kms_for_bucket(bucket: str, action: str, where: Where, why: str) -> list[Request]:
    key = where.bucket_keys.get(bucket)
    if key is None:
        return []
    context = {"kms:ViaService": f"s3.{where.region}.amazonaws.com", **TLS}
    return [Request(action, key, context, why)]


def s3_get(bucket: str, key: str, where: Where, why: str = "") -> list[Request]:
    return [
        Request("s3:GetObject", _s3_object(bucket, key), TLS, why),
        *_kms_for_bucket(bucket, "kms:Decrypt", where, f"SSE-KMS: reading {bucket}/{key} decrypts with the bucket key"),
    ]


def s3_put(bucket: str, key: str, where: Where, why: str = "", kms_key: str | None = None) -> list[Request]:
    """PutObject, and the data key of the object's KMS key: the request's ``SSEKMSKeyId``, else the bucket's."""
    requests = [Request("s3:PutObject", _s3_object(bucket, key), TLS, why)]
    if kms_key:
        context = {"kms:ViaService": f"s3.{where.region}.amazonaws.com", **TLS}
        why_key = f"SSE-KMS: writing {bucket}/{key} encrypts with the requested key"
        return [*requests, Request("kms:GenerateDataKey", _key_arn(kms_key, where), context, why_key)]
    why_key = f"SSE-KMS: writing {bucket}/{key} encrypts with the bucket key"
    return [*requests, *_kms_for_bucket(bucket, "kms:GenerateDataKey", where, why_key)]


def _copy(p: Mapping[str, Any], w: Where) -> list[Request]:
    source = p["CopySource"]
    if isinstance(source, str):
        bucket, _, key = source.lstrip("/").partition("/")
    else:
        bucket, key = source["Bucket"], source["Key"]
    return [*s3_get(bucket, key, w, "CopyObject source"), *s3_put(p["Bucket"], p["Key"], w, "CopyObject destination")]


def _list_bucket(p: Mapping[str, Any], w: Where) -> list[Request]:
    context = {**TLS, **({"s3:prefix": p["Prefix"]} if "Prefix" in p else {})}
    return [Request("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", context)]


# UpdateEndpoint names only the config; the check adds the keys of the config it moves to under this name.
CONFIG_KEYS = "__EndpointConfigKmsKeys"


def config_keys(p: Mapping[str, Any]) -> list[str]:
    """The KMS keys of an endpoint config request: its volume ``KmsKeyId`` and the capture ``KmsKeyId``."""
    return sorted({str(k) for k in (p.get("KmsKeyId"), (p.get("DataCaptureConfig") or {}).get("KmsKeyId")) if k})


def _key_use(keys: list[str], w: Where, why: str) -> list[Request]:
    """Creating or updating an endpoint with a KMS-encrypted config: SageMaker creates grants on each key for
    the endpoint's resources, so the caller needs ``kms:CreateGrant`` (``kms:GrantIsForAWSResource``) and
    ``kms:DescribeKey`` on it (SageMaker API Reference, CreateEndpointConfig ``KmsKeyId``: "The KMS key policy
    must grant permission to the IAM role that you specify in your CreateEndpoint, UpdateEndpoint requests")."""
    requests = []
    for key in keys:
        arn = _key_arn(key, w)
        context = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"sagemaker.{w.region}.amazonaws.com"}
        requests += [Request("kms:CreateGrant", arn, context, why), Request("kms:DescribeKey", arn, {}, why)]
    return requests


def _endpoint_config(p: Mapping[str, Any], w: Where) -> list[Request]:
    arn = _sm(w, "endpoint-config", p["EndpointConfigName"])
    why = "the endpoint config is encrypted with this key"
    return [Request("sagemaker:CreateEndpointConfig", arn), *_key_use(config_keys(p), w, why), *_tags(p, arn)]


def _update_endpoint(p: Mapping[str, Any], w: Where) -> list[Request]:
    why = f"the endpoint moves to {p['EndpointConfigName']}, encrypted with this key"
    arn = _sm(w, "endpoint", p["EndpointName"])
    return [Request("sagemaker:UpdateEndpoint", arn), *_key_use(list(p.get(CONFIG_KEYS, [])), w, why)]


def _create_endpoint(p: Mapping[str, Any], w: Where) -> list[Request]:
    """CreateEndpoint (the idle schedule's wake, ADR 0020): like UpdateEndpoint, SageMaker creates grants on the
    config's keys as the caller; tags on create."""
    why = f"the endpoint is created on {p['EndpointConfigName']}, encrypted with this key"
    arn = _sm(w, "endpoint", p["EndpointName"])
    return [
        Request("sagemaker:CreateEndpoint", arn),
        Request("sagemaker:CreateEndpoint", _sm(w, "endpoint-config", p["EndpointConfigName"])),
        *_key_use(list(p.get(CONFIG_KEYS, [])), w, why),
        *_tags(p, arn),
    ]


def _key_arn(key: str, w: Where) -> str:
    if key.startswith("arn:"):
        return key
    return f"arn:aws:kms:{w.region}:{w.account}:key/{key}"


def _tags(p: Mapping[str, Any], arn: str) -> list[Request]:
    return [Request("sagemaker:AddTags", arn, {}, "tags on create")] if p.get("Tags") else []


def _create_model(p: Mapping[str, Any], w: Where) -> list[Request]:
    arn = _sm(w, "model", p["ModelName"])
    requests = [Request("sagemaker:CreateModel", arn)]
    if p.get("ExecutionRoleArn"):
        requests.append(
            Request(
                "iam:PassRole",
                p["ExecutionRoleArn"],
                {"iam:PassedToService": "sagemaker.amazonaws.com"},
                "CreateModel passes the execution role",
            )
        )
    return requests + _tags(p, arn)


def _package_arn(name: str, w: Where) -> str:
    if name.startswith("arn:"):
        return name
    return _sm(w, "model-package", name)


def _transact(p: Mapping[str, Any], w: Where) -> list[Request]:
    actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
    requests = []
    for item in p["TransactItems"]:
        for kind, body in item.items():
            requests.append(
                Request(f"dynamodb:{actions[kind]}", _table(body["TableName"], w), {}, "TransactWriteItems")
            )
    return requests


def _table(name: str, w: Where) -> str:
    return f"arn:aws:dynamodb:{w.region}:{w.account}:table/{name}"


def _parameter(name: str, w: Where) -> str:
    return f"arn:aws:ssm:{w.region}:{w.account}:parameter/{name.lstrip('/')}"


def _publish(p: Mapping[str, Any], w: Where) -> list[Request]:
    topic = p["TopicArn"]
    requests = [Request("sns:Publish", topic)]
    key = w.topic_keys.get(topic)
    if key:
        why = "SNS encrypts the message with the topic's key"
        requests += [Request("kms:GenerateDataKey", key, {}, why), Request("kms:Decrypt", key, {}, why)]
    return requests


def _job(kind: str) -> Builder:
    """Create<kind>Job: the job, passing its role to SageMaker, and tagging it (SageMaker Developer Guide,
    "SageMaker AI roles"; the authorization reference lists sagemaker:AddTags as a dependent action)."""

    def build(p: Mapping[str, Any], w: Where) -> list[Request]:
        arn = _sm(w, f"{kind.lower()}-job", p[f"{kind}JobName"])
        passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
        return [
            Request(f"sagemaker:Create{kind}Job", arn),
            Request("iam:PassRole", p["RoleArn"], passed, f"Create{kind}Job passes the job's role"),
            *_tags(p, arn),
        ]

    return build


def _job_named(action: str, kind: str) -> Builder:
    return lambda p, w: [Request(action, _sm(w, f"{kind.lower()}-job", p[f"{kind}JobName"]))]


def _rule(action: str) -> Builder:
    return lambda p, w: [Request(action, f"arn:aws:events:{w.region}:{w.account}:rule/{p.get('Name') or p['Rule']}")]


# Application Auto Scaling names a scalable target by an ID it generates; a request names the target by its
# namespace, resource ID and dimension, which IAM sees as condition keys (Service Authorization Reference,
# "Actions, resources, and condition keys for Application Auto Scaling").
SCALABLE_TARGET_ID = "0123456789abcdef0123456789abcdef0123"


def _scaling(action: str, *, on_target: bool) -> Builder:
    def build(p: Mapping[str, Any], w: Where) -> list[Request]:
        context = {}
        if "ServiceNamespace" in p:
            context["application-autoscaling:service-namespace"] = p["ServiceNamespace"]
        if "ScalableDimension" in p:
            context["application-autoscaling:scalable-dimension"] = p["ScalableDimension"]
        if not on_target:
            return [Request(action, "*", context)]
        arn = f"arn:aws:application-autoscaling:{w.region}:{w.account}:scalable-target/{SCALABLE_TARGET_ID}"
        requests = [Request(action, arn, context)]
        if p.get("Tags"):
            requests.append(Request("application-autoscaling:TagResource", arn, {}, "tags on register"))
        return requests

    return build


_TABLE_REFERENCE = re.compile(r'"?([A-Za-z0-9_]+)"?\."?([A-Za-z0-9_]+)"?')


def _start_query(p: Mapping[str, Any], w: Where) -> list[Request]:
    """A query runs with the caller's permissions (Athena User Guide, "Access to Amazon S3" and "Fine-grained
    access to databases and tables in the AWS Glue Data Catalog"): the workgroup; for every table it reads,
    ``glue:GetDatabase``/``GetTable``/``GetPartitions`` on the catalog, the database and the table, and
    ``s3:GetBucketLocation``, ``s3:ListBucket`` and ``s3:GetObject`` on its data; for the results,
    ``s3:GetBucketLocation`` and ``s3:PutObject`` in the workgroup's result location, with its key."""
    workgroup = p.get("WorkGroup", "primary")
    requests = [Request("athena:StartQueryExecution", f"arn:aws:athena:{w.region}:{w.account}:workgroup/{workgroup}")]
    glue = f"arn:aws:glue:{w.region}:{w.account}"
    read = sorted(
        {f"{db}.{table}" for db, table in _TABLE_REFERENCE.findall(str(p.get("QueryString", "")))} & set(w.tables)
    )
    for name in read:
        database, table = name.split(".")
        why = f"the query reads {name}"
        for action in ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"):
            for arn in (f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/{table}"):
                if action != "glue:GetDatabase" or not arn.startswith(f"{glue}:table/"):
                    requests.append(Request(action, arn, {}, why))
        bucket, _, prefix = w.tables[name].removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        requests += [
            Request("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}", {}, why),
            Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": f"{prefix}/"}, why),
            *s3_get(bucket, f"{prefix}/object", w, why),
        ]
    if workgroup in w.workgroups:
        uri, key = w.workgroups[workgroup]
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        why = f"the query writes its results to {uri}"
        requests += [
            Request("s3:GetBucketLocation", f"arn:aws:s3:::{bucket}", {}, why),
            *s3_put(bucket, f"{prefix.strip('/')}/query.csv", w, why, kms_key=key),
        ]
    return requests


def _same(action: str, arn: Callable[[Mapping[str, Any], Where], str]) -> Builder:
    return lambda p, w: [Request(action, arn(p, w))]


def _star(action: str, **context: str) -> Builder:
    return lambda p, w: [Request(action, "*", dict(context))]


def _alarms(p: Mapping[str, Any], w: Where) -> list[Request]:
    names = p.get("AlarmNames") or []
    if not names:
        return [Request("cloudwatch:DescribeAlarms", "*")]
    return [Request("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{w.region}:{w.account}:alarm:{n}") for n in names]


def _log_group(p: Mapping[str, Any], w: Where) -> str:
    return f"arn:aws:logs:{w.region}:{w.account}:log-group:{p['logGroupName']}"


OPERATIONS: dict[tuple[str, str], Builder] = {
    # CloudWatch Logs: VPC Flow Logs delivering to a log group with the flow log's role (definitions.py). Both
    # are authorized on the stream's ARN: a grant on "log-group:<name>:*" (CDK's grantWrite, AWS's managed
    # logging policies) is what allows CreateLogStream, and it does not match the bare group ARN.
    **{
        ("logs", op): _same(f"logs:{op}", lambda p, w: f"{_log_group(p, w)}:log-stream:{p['logStreamName']}")
        for op in ("CreateLogStream", "PutLogEvents")
    },
    # S3
    ("s3", "GetObject"): lambda p, w: s3_get(p["Bucket"], p["Key"], w),
    ("s3", "HeadObject"): lambda p, w: s3_get(p["Bucket"], p["Key"], w),
    ("s3", "PutObject"): lambda p, w: s3_put(p["Bucket"], p["Key"], w, kms_key=p.get("SSEKMSKeyId")),
    ("s3", "DeleteObject"): _same("s3:DeleteObject", lambda p, w: _s3_object(p["Bucket"], p["Key"])),
    ("s3", "CopyObject"): _copy,
    ("s3", "ListObjectsV2"): _list_bucket,
    ("s3", "ListObjects"): _list_bucket,
    # DynamoDB
    **{
        ("dynamodb", op): _same(f"dynamodb:{op}", lambda p, w: _table(p["TableName"], w))
        for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
    },
    ("dynamodb", "TransactWriteItems"): _transact,
    # SageMaker
    ("sagemaker", "DescribeEndpoint"): _same(
        "sagemaker:DescribeEndpoint", lambda p, w: _sm(w, "endpoint", p["EndpointName"])
    ),
    ("sagemaker", "UpdateEndpoint"): _update_endpoint,
    ("sagemaker", "CreateEndpoint"): _create_endpoint,
    ("sagemaker", "DeleteEndpoint"): _same(
        "sagemaker:DeleteEndpoint", lambda p, w: _sm(w, "endpoint", p["EndpointName"])
    ),
    ("sagemaker", "UpdateEndpointWeightsAndCapacities"): _same(
        "sagemaker:UpdateEndpointWeightsAndCapacities", lambda p, w: _sm(w, "endpoint", p["EndpointName"])
    ),
    ("sagemaker", "DescribeEndpointConfig"): _same(
        "sagemaker:DescribeEndpointConfig", lambda p, w: _sm(w, "endpoint-config", p["EndpointConfigName"])
    ),
    ("sagemaker", "CreateEndpointConfig"): _endpoint_config,
    ("sagemaker", "CreateModel"): _create_model,
    ("sagemaker", "DescribeModel"): _same("sagemaker:DescribeModel", lambda p, w: _sm(w, "model", p["ModelName"])),
    ("sagemaker", "ListModels"): _star("sagemaker:ListModels"),
    ("sagemaker", "ListTags"): _same("sagemaker:ListTags", lambda p, w: p["ResourceArn"]),
    ("sagemaker", "AddTags"): _same("sagemaker:AddTags", lambda p, w: p["ResourceArn"]),
    ("sagemaker", "DeleteTags"): _same("sagemaker:DeleteTags", lambda p, w: p["ResourceArn"]),
    ("sagemaker", "DescribeModelPackage"): _same(
        "sagemaker:DescribeModelPackage", lambda p, w: _package_arn(p["ModelPackageName"], w)
    ),
    ("sagemaker", "UpdateModelPackage"): _same(
        "sagemaker:UpdateModelPackage", lambda p, w: _package_arn(p["ModelPackageArn"], w)
    ),
    ("sagemaker", "CreateModelPackage"): lambda p, w: [
        Request("sagemaker:CreateModelPackage", _sm(w, "model-package", f"{p['ModelPackageGroupName']}/1")),
        *_tags(p, _sm(w, "model-package", f"{p['ModelPackageGroupName']}/1")),
    ],
    ("sagemaker", "ListModelPackages"): _star("sagemaker:ListModelPackages"),
    ("sagemaker", "CreateProcessingJob"): _job("Processing"),
    ("sagemaker", "CreateTrainingJob"): _job("Training"),
    ("sagemaker", "DescribeProcessingJob"): _job_named("sagemaker:DescribeProcessingJob", "Processing"),
    ("sagemaker", "StopProcessingJob"): _job_named("sagemaker:StopProcessingJob", "Processing"),
    ("sagemaker", "DescribeTrainingJob"): _job_named("sagemaker:DescribeTrainingJob", "Training"),
    ("sagemaker", "StopTrainingJob"): _job_named("sagemaker:StopTrainingJob", "Training"),
    # Application Auto Scaling (the deployment functions suspend and resume a variant's scaling)
    **{
        ("application-autoscaling", op): _scaling(f"application-autoscaling:{op}", on_target=False)
        for op in ("DescribeScalableTargets", "DescribeScalingPolicies", "DescribeScheduledActions")
    },
    **{
        ("application-autoscaling", op): _scaling(f"application-autoscaling:{op}", on_target=True)
        for op in (
            "RegisterScalableTarget",
            "DeregisterScalableTarget",
            "PutScalingPolicy",
            "DeleteScalingPolicy",
            "PutScheduledAction",
            "DeleteScheduledAction",
        )
    },
    # EventBridge: the managed rule of Step Functions' .sync integrations
    ("events", "PutRule"): _rule("events:PutRule"),
    ("events", "PutTargets"): _rule("events:PutTargets"),
    ("events", "DescribeRule"): _rule("events:DescribeRule"),
    ("sagemaker", "StartPipelineExecution"): _same(
        "sagemaker:StartPipelineExecution", lambda p, w: _sm(w, "pipeline", p["PipelineName"])
    ),
    ("sagemaker", "DescribePipelineExecution"): _same(
        "sagemaker:DescribePipelineExecution", lambda p, w: p["PipelineExecutionArn"]
    ),
    ("sagemaker-featurestore-runtime", "PutRecord"): _same(
        "sagemaker:PutRecord", lambda p, w: _sm(w, "feature-group", p["FeatureGroupName"])
    ),
    ("sagemaker-featurestore-runtime", "GetRecord"): _same(
        "sagemaker:GetRecord", lambda p, w: _sm(w, "feature-group", p["FeatureGroupName"])
    ),
    ("sagemaker-runtime", "InvokeEndpoint"): _same(
        "sagemaker:InvokeEndpoint", lambda p, w: _sm(w, "endpoint", p["EndpointName"])
    ),
    # SSM
    ("ssm", "GetParameter"): _same("ssm:GetParameter", lambda p, w: _parameter(p["Name"], w)),
    ("ssm", "PutParameter"): _same("ssm:PutParameter", lambda p, w: _parameter(p["Name"], w)),
    # CloudWatch
    ("cloudwatch", "PutMetricData"): lambda p, w: [
        Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": p["Namespace"]})
    ],
    ("cloudwatch", "GetMetricData"): _star("cloudwatch:GetMetricData"),
    ("cloudwatch", "DescribeAlarms"): _alarms,
    # SNS, Step Functions, Lambda, STS
    ("sns", "Publish"): _publish,
    ("stepfunctions", "StartExecution"): _same("states:StartExecution", lambda p, w: p["stateMachineArn"]),
    ("stepfunctions", "DescribeExecution"): _same("states:DescribeExecution", lambda p, w: p["executionArn"]),
    ("stepfunctions", "ListExecutions"): _same("states:ListExecutions", lambda p, w: p["stateMachineArn"]),
    ("stepfunctions", "ListStateMachines"): _star("states:ListStateMachines"),
    ("stepfunctions", "SendTaskSuccess"): _star("states:SendTaskSuccess"),
    ("stepfunctions", "SendTaskFailure"): _star("states:SendTaskFailure"),
    ("stepfunctions", "SendTaskHeartbeat"): _star("states:SendTaskHeartbeat"),
    ("lambda", "Invoke"): _same(
        "lambda:InvokeFunction",
        lambda p, w: (
            p["FunctionName"]
            if p["FunctionName"].startswith("arn:")
            else f"arn:aws:lambda:{w.region}:{w.account}:function:{p['FunctionName']}"
        ),
    ),
    ("sts", "GetCallerIdentity"): lambda p, w: [],
    # Athena (the dataset step)
    ("athena", "StartQueryExecution"): _start_query,
    # The query's workgroup is not a parameter of these: the check fills in the one the same run started it in.
    **{
        ("athena", op): _same(
            f"athena:{op}",
            lambda p, w: f"arn:aws:athena:{w.region}:{w.account}:workgroup/{p.get('WorkGroup', 'primary')}",
        )
        for op in ("GetQueryExecution", "GetQueryResults", "StopQueryExecution")
    },
}


def requests_for(service: str, operation: str, params: Mapping[str, Any], where: Where) -> list[Request]:
    builder = OPERATIONS.get((service, operation))
    if builder is None:
        raise NotModelledError(f"{service}.{operation} is not in the contract tier's operation table")
    requests = builder(params, where)
    # Every request of this project goes over HTTPS (boto3's default): bucket policies' TLS denials see that.
    return [Request(r.action, r.resource, {**TLS, **r.context}, r.why) for r in requests]

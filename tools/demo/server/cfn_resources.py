"""The resource types moto's CloudFormation skips, created from the same template properties through moto's APIs.

moto 5.2.5's CloudFormation creates only types that have a ``CloudFormationModel`` subclass; any other type is
skipped with a warning, a ``Ref`` to it silently becomes empty and a ``Fn::GetAtt`` on it fails the stack. This
app's dev stage uses fourteen such types. Each class below is that missing subclass: moto's CloudFormation
calls it with the resource's resolved properties (``Ref``, ``Fn::GetAtt``, ``Fn::GetStackOutput`` and dynamic
references already applied), it creates the resource through the same moto backend call the service's API
handler makes, as CloudFormation would call the service, logs one line saying so, and answers ``Ref`` and
``Fn::GetAtt`` with the values AWS documents for the type. Update replaces or updates in place as the type's
AWS update behaviour does for the properties this app changes; delete removes it (``Retain`` is honoured by
moto's stack delete).

What differs from AWS (and could hide a defect): the properties moto's APIs cannot hold are not kept (a model
package group's resource policy, a work group's engine and limits, scaling policies never act); KMS keys,
bucket/topic/queue policies are stored and never enforced. Alarms start in ``INSUFFICIENT_DATA``, as in AWS;
moto never evaluates them (the demo's alarm emulator does).

The classes are defined at module level on purpose: moto finds them through
``CloudFormationModel.__subclasses__()``, which holds weak references, so classes built and dropped inside a
function would vanish again.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from moto.core.common_models import CloudFormationModel

log = logging.getLogger("demo.server.cfn")


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in properties.get("Tags", [])]


def _policy(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class EmulatedResource:
    """One resource of a skipped type: its physical id (``Ref``), attributes (``Fn::GetAtt``) and how to delete it.

    A mixin: each concrete type also derives from ``CloudFormationModel`` directly, because moto looks its models
    up with ``CloudFormationModel.__subclasses__()`` (direct subclasses only).
    """

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""
    API: ClassVar[str] = ""  # the API call CloudFormation would make, for the log line
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, physical_id: str, attributes: dict[str, Any], remove: Callable[[], None]) -> None:
        self._physical_id = physical_id
        self._attributes = attributes
        self._remove = remove

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException  # noqa: PLC0415

        if attribute_name in self._attributes:
            return self._attributes[attribute_name]
        raise UnformattedGetAttTemplateException()

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        self._remove()
        log.info("cloudformation: deleted %s %s", self.TYPE, self._physical_id)

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> EmulatedResource:
        properties = cloudformation_json.get("Properties", {})
        name = str(properties.get(cls.NAME_PROPERTY) or resource_name) if cls.NAME_PROPERTY else resource_name
        resource = cls.create(name, properties, account_id, region_name)
        log.info(
            "cloudformation: %s %s (%s) created through %s: moto's CloudFormation has no handler for this type",
            cls.TYPE,
            resource.physical_resource_id,
            kwargs.get("LogicalId", "?"),
            cls.API,
        )
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EmulatedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EmulatedResource:
        """Replacement by default (delete, create): right for types whose updates this app makes are idempotent puts."""
        original_resource._remove()
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Unused: moto deletes through ``delete`` when the resource object has one."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        raise NotImplementedError


# ---- SageMaker ------------------------------------------------------------------------------------------------------


def _sagemaker(account: str, region: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415

    return sagemaker_backends[account][region]


class ModelPackageGroup(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SageMaker::ModelPackageGroup"
    NAME_PROPERTY = "ModelPackageGroupName"
    API = "sagemaker:CreateModelPackageGroup"
    ATTRIBUTES = ("ModelPackageGroupArn", "CreationTime", "ModelPackageGroupStatus")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _sagemaker(account, region)
        if name in backend.model_package_groups:  # a retained group of an earlier stack: adopt it
            arn = backend.model_package_groups[name].arn
        else:
            arn = backend.create_model_package_group(
                model_package_group_name=name,
                model_package_group_description=properties.get("ModelPackageGroupDescription", ""),
                tags=_tags(properties),
            )
        group = backend.model_package_groups[name]
        attributes = {
            "ModelPackageGroupArn": arn,
            "CreationTime": str(group.creation_time),
            "ModelPackageGroupStatus": "Completed",
        }
        # Ref is the ARN. Deleting a group that still holds packages fails in SageMaker; moto cannot delete one.
        return cls(arn, attributes, lambda: backend.model_package_groups.pop(name, None))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EmulatedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EmulatedResource:
        """In place for tags; a new name or description means replacement, which CloudFormation cannot do for a
        named group (the new one's name is taken), so it fails as in AWS (docs/aws-facts.md#model-registry)."""
        from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

        properties = cloudformation_json.get("Properties", {})
        name = str(properties.get(cls.NAME_PROPERTY) or new_resource_name)
        group = _sagemaker(account_id, region_name).model_package_groups.get(name)
        if group is None or group.arn != original_resource.physical_resource_id:
            raise ValidationError(message=f"{cls.TYPE} {name}: a name change requires replacing the group")
        if group.model_package_group_description != properties.get("ModelPackageGroupDescription", ""):
            raise ValidationError(
                message=f"{cls.TYPE} {name}: ModelPackageGroupDescription requires replacement; "
                "a named model package group cannot be replaced (its name is taken)"
            )
        return original_resource


class FeatureGroup(EmulatedResource, CloudFormationModel):
    """CreateFeatureGroup with the template's stores; the offline store's Glue table too, as SageMaker makes it."""

    TYPE = "AWS::SageMaker::FeatureGroup"
    NAME_PROPERTY = "FeatureGroupName"
    API = "sagemaker:CreateFeatureGroup"
    ATTRIBUTES = ("CreationTime", "FeatureGroupStatus")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _sagemaker(account, region)
        offline = copy.deepcopy(properties.get("OfflineStoreConfig") or {})
        arn = backend.create_feature_group(
            feature_group_name=name,
            record_identifier_feature_name=properties["RecordIdentifierFeatureName"],
            event_time_feature_name=properties["EventTimeFeatureName"],
            feature_definitions=properties["FeatureDefinitions"],
            offline_store_config=copy.deepcopy(offline) if offline else {"S3StorageConfig": {"S3Uri": ""}},
            role_arn=properties.get("RoleArn", ""),
            tags=_tags(properties),
        )
        group = backend.feature_groups[arn]
        created = int(group.creation_time.timestamp())
        if offline:
            # SageMaker's layout (not moto's): <S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<created>/data
            storage = dict(offline["S3StorageConfig"])
            storage["ResolvedOutputS3Uri"] = (
                f"{storage['S3Uri'].rstrip('/')}/{account}/sagemaker/{region}/offline-store/{name}-{created}/data"
            )
            catalog = offline.get("DataCatalogConfig") or {
                "Catalog": "AwsDataCatalog",
                "Database": "sagemaker_featurestore",
                "TableName": f"{name.replace('-', '_')}_{created}",
            }
            group.offline_store_config = {**offline, "S3StorageConfig": storage, "DataCatalogConfig": catalog}
            if not offline.get("DisableGlueTableCreation", False):
                _feature_group_table(properties, group.offline_store_config, account, region)
        else:
            group.offline_store_config = None
        group.online_store_config = properties.get("OnlineStoreConfig")
        group.description = properties.get("Description")
        group.template_offline_store_config = offline  # what the template asked for, to detect a replacement
        attributes = {"CreationTime": str(group.creation_time), "FeatureGroupStatus": "Created"}
        return cls(name, attributes, lambda: backend.feature_groups.pop(arn, None))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EmulatedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EmulatedResource:
        """``TtlDuration`` and appended ``FeatureDefinitions`` update in place; any other change is a replacement,
        which fails for a named group as in AWS (docs/aws-facts.md#feature-store)."""
        from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

        properties = cloudformation_json.get("Properties", {})
        name = original_resource.physical_resource_id
        group = next(
            g for g in _sagemaker(account_id, region_name).feature_groups.values() if g.feature_group_name == name
        )
        kept = group.feature_definitions
        online_before = {k: v for k, v in (group.online_store_config or {}).items() if k != "TtlDuration"}
        online_after = {k: v for k, v in (properties.get("OnlineStoreConfig") or {}).items() if k != "TtlDuration"}
        replaced = [
            field
            for field, changed in (
                ("FeatureGroupName", properties.get(cls.NAME_PROPERTY, name) != name),
                ("FeatureDefinitions", properties["FeatureDefinitions"][: len(kept)] != kept),
                ("Description", properties.get("Description") != group.description),
                ("OnlineStoreConfig", online_after != online_before),
                ("RoleArn", properties.get("RoleArn", "") != group.role_arn),
                (
                    "OfflineStoreConfig",
                    (properties.get("OfflineStoreConfig") or {}) != group.template_offline_store_config,
                ),
            )
            if changed
        ]
        if replaced:
            raise ValidationError(
                message=f"{cls.TYPE} {name}: {', '.join(replaced)} require replacement; "
                "a named feature group cannot be replaced (its name is taken)"
            )
        group.feature_definitions = properties["FeatureDefinitions"]
        group.online_store_config = properties.get("OnlineStoreConfig")
        return original_resource


_GLUE_TYPES = {"String": "string", "Integral": "bigint", "Fractional": "double"}


def _feature_group_table(properties: dict[str, Any], offline: dict[str, Any], account: str, region: str) -> None:
    """The offline store's table in the Glue catalog: the features plus Feature Store's bookkeeping columns."""
    from moto.glue.models import glue_backends  # noqa: PLC0415

    catalog = offline["DataCatalogConfig"]
    glue = glue_backends[account][region]
    columns = [
        {"Name": d["FeatureName"], "Type": _GLUE_TYPES.get(d["FeatureType"], "string")}
        for d in properties["FeatureDefinitions"]
    ]
    columns += [
        {"Name": "write_time", "Type": "timestamp"},
        {"Name": "api_invocation_time", "Type": "timestamp"},
        {"Name": "is_deleted", "Type": "boolean"},
    ]
    iceberg = offline.get("TableFormat") == "Iceberg"
    table_input = {
        "Name": catalog["TableName"],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"table_type": "ICEBERG"} if iceberg else {"classification": "parquet"},
        "StorageDescriptor": {"Columns": columns, "Location": offline["S3StorageConfig"]["ResolvedOutputS3Uri"]},
    }
    if catalog["Database"] not in glue.databases:
        log.warning(
            "cloudformation: Glue database %s does not exist; feature group table %s not created",
            catalog["Database"],
            catalog["TableName"],
        )
        return
    glue.create_table(catalog["Database"], catalog["TableName"], table_input)
    log.info(
        "cloudformation: feature group table %s.%s created, as SageMaker does",
        catalog["Database"],
        catalog["TableName"],
    )


class Pipeline(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SageMaker::Pipeline"
    NAME_PROPERTY = "PipelineName"
    API = "sagemaker:CreatePipeline"
    ATTRIBUTES = ("PipelineArn",)

    @staticmethod
    def _definition(properties: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        definition = properties["PipelineDefinition"]
        body = definition.get("PipelineDefinitionBody")
        location = definition.get("PipelineDefinitionS3Location")
        if location:
            location = {
                "Bucket": location["Bucket"],
                "ObjectKey": location["Key"],
                **({"VersionId": location["Version"]} if location.get("Version") else {}),
            }
        return (None if body is None else _policy(body)), location

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _sagemaker(account, region)
        body, location = cls._definition(properties)
        pipeline = backend.create_pipeline(
            pipeline_name=name,
            pipeline_display_name=properties.get("PipelineDisplayName", name),
            pipeline_definition=body,
            pipeline_definition_s3_location=location,
            pipeline_description=properties.get("PipelineDescription", ""),
            role_arn=properties["RoleArn"],
            tags=_tags(properties),
            parallelism_configuration=properties.get("ParallelismConfiguration"),
        )
        return cls(name, {"PipelineArn": pipeline.arn}, lambda: backend.delete_pipeline(name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: EmulatedResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EmulatedResource:
        """UpdatePipeline in place: the pipeline keeps its executions."""
        properties = cloudformation_json.get("Properties", {})
        body, location = cls._definition(properties)
        _sagemaker(account_id, region_name).update_pipeline(
            original_resource.physical_resource_id,
            pipeline_definition=body,
            pipeline_definition_s3_location=location,
            pipeline_description=properties.get("PipelineDescription"),
            role_arn=properties.get("RoleArn"),
        )
        log.info(
            "cloudformation: %s %s updated through sagemaker:UpdatePipeline",
            cls.TYPE,
            original_resource.physical_resource_id,
        )
        return original_resource


# ---- CloudWatch -----------------------------------------------------------------------------------------------------


def _cloudwatch(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

    return cloudwatch_backends[account][region]


def _metric_queries(metrics: list[dict[str, Any]]) -> list[Any]:
    """``Metrics`` (metric math alarms) as moto's PutMetricAlarm handler builds them."""
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat  # noqa: PLC0415

    queries = []
    for metric in metrics:
        stat = metric.get("MetricStat")
        metric_stat = None
        if stat:
            described = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=described["MetricName"],
                    namespace=described.get("Namespace"),
                    dimensions=[Dimension(d["Name"], d["Value"]) for d in described.get("Dimensions", [])],
                ),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        query: Any = MetricDataQuery  # moto types every field as str; CloudFormation leaves most of them out
        queries.append(
            query(
                query_id=metric.get("Id"),
                label=metric.get("Label"),
                period=metric.get("Period"),
                return_data=metric.get("ReturnData"),
                expression=metric.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


def _initial_state(alarm: Any) -> None:
    """A new alarm is INSUFFICIENT_DATA until its first evaluation (moto starts it at OK)."""
    alarm.state_value = "INSUFFICIENT_DATA"
    alarm.state_reason = "Unchecked: Initial alarm creation"
    alarm.state_updated_timestamp = datetime.now(UTC).replace(tzinfo=None)


class Alarm(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    API = "cloudwatch:PutMetricAlarm"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _cloudwatch(account, region)
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=properties.get("Namespace"),
            metric_name=properties.get("MetricName"),
            metric_data_queries=_metric_queries(properties.get("Metrics", [])) or None,
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            datapoints_to_alarm=int(properties["DatapointsToAlarm"]) if "DatapointsToAlarm" in properties else None,
            period=int(properties["Period"]) if "Period" in properties else None,
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,
            statistic=properties.get("Statistic"),
            extended_statistic=properties.get("ExtendedStatistic"),
            description=properties.get("AlarmDescription"),
            dimensions=properties.get("Dimensions", []),
            alarm_actions=properties.get("AlarmActions", []),
            ok_actions=properties.get("OKActions", []),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
            unit=properties.get("Unit"),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=properties.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=properties.get("ThresholdMetricId"),
            tags=_tags(properties),
        )
        _initial_state(alarm)
        return cls(name, {"Arn": alarm.alarm_arn}, lambda: backend.delete_alarms([name]))


class CompositeAlarm(EmulatedResource, CloudFormationModel):
    """Stored as moto stores a composite alarm (an alarm with a rule): DescribeAlarms lists it under CompositeAlarms."""

    TYPE = "AWS::CloudWatch::CompositeAlarm"
    NAME_PROPERTY = "AlarmName"
    API = "cloudwatch:PutCompositeAlarm"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _cloudwatch(account, region)
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=None,
            metric_name=None,
            comparison_operator=None,
            evaluation_periods=None,
            period=None,
            threshold=None,
            statistic=None,
            description=properties.get("AlarmDescription"),
            dimensions=[],
            alarm_actions=properties.get("AlarmActions", []),
            ok_actions=properties.get("OKActions", []),
            insufficient_data_actions=properties.get("InsufficientDataActions", []),
            actions_enabled=str(properties.get("ActionsEnabled", True)).lower() == "true",
            rule=properties["AlarmRule"],
            tags=_tags(properties),
        )
        _initial_state(alarm)
        return cls(name, {"Arn": alarm.alarm_arn}, lambda: backend.delete_alarms([name]))


# ---- Application Auto Scaling ---------------------------------------------------------------------------------------


def _autoscaling(account: str, region: str) -> Any:
    from moto.applicationautoscaling.models import applicationautoscaling_backends  # noqa: PLC0415

    return applicationautoscaling_backends[account][region]


class ScalableTarget(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
    API = "application-autoscaling:RegisterScalableTarget"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _autoscaling(account, region)
        namespace, resource_id = properties["ServiceNamespace"], properties["ResourceId"]
        dimension = properties["ScalableDimension"]
        backend.register_scalable_target(
            namespace=namespace,
            r_id=resource_id,
            dimension=dimension,
            min_capacity=int(properties["MinCapacity"]),
            max_capacity=int(properties["MaxCapacity"]),
            role_arn=properties.get("RoleARN", ""),
            suspended_state=properties.get("SuspendedState"),
        )
        physical_id = f"{resource_id}|{dimension}|{namespace}"  # CloudFormation's documented Ref format
        return cls(
            physical_id,
            {"Id": physical_id},
            lambda: backend.deregister_scalable_target(namespace, resource_id, dimension),
        )


class ScalingPolicy(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
    NAME_PROPERTY = "PolicyName"
    API = "application-autoscaling:PutScalingPolicy"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _autoscaling(account, region)
        if "ScalingTargetId" in properties:
            resource_id, dimension, namespace = str(properties["ScalingTargetId"]).split("|")
        else:
            resource_id = properties["ResourceId"]
            dimension, namespace = properties["ScalableDimension"], properties["ServiceNamespace"]
        policy = backend.put_scaling_policy(
            policy_name=name,
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=properties.get("TargetTrackingScalingPolicyConfiguration")
            or properties.get("StepScalingPolicyConfiguration")
            or {},
            policy_type=properties.get("PolicyType"),
        )
        return cls(
            policy.policy_arn,
            {"Arn": policy.policy_arn},
            lambda: backend.delete_scaling_policy(name, namespace, resource_id, dimension),
        )


# ---- Glue, Athena ---------------------------------------------------------------------------------------------------


def _glue(account: str, region: str) -> Any:
    from moto.glue.models import glue_backends  # noqa: PLC0415

    return glue_backends[account][region]


class GlueDatabase(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::Glue::Database"
    API = "glue:CreateDatabase"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _glue(account, region)
        database_input = properties["DatabaseInput"]
        database = str(database_input.get("Name") or name).lower()
        backend.create_database(database, {**database_input, "Name": database})
        return cls(database, {}, lambda: backend.delete_database(database))


class GlueTable(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::Glue::Table"
    API = "glue:CreateTable"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        backend = _glue(account, region)
        database, table_input = properties["DatabaseName"], properties["TableInput"]
        table = str(table_input.get("Name") or name).lower()
        backend.create_table(database, table, {**table_input, "Name": table})
        return cls(table, {}, lambda: backend.delete_table(database, table))


class AthenaWorkGroup(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::Athena::WorkGroup"
    NAME_PROPERTY = "Name"
    API = "athena:CreateWorkGroup"
    ATTRIBUTES = ("CreationTime",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.athena.models import athena_backends  # noqa: PLC0415

        backend = athena_backends[account][region]
        backend.create_work_group(
            name=name,
            configuration=properties.get("WorkGroupConfiguration", {}),
            description=properties.get("Description", ""),
            tags=_tags(properties),
        )
        created = datetime.now(UTC).isoformat()
        return cls(name, {"CreationTime": created}, lambda: backend.delete_work_group(name))


# ---- resource policies ----------------------------------------------------------------------------------------------


class BucketPolicy(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"
    API = "s3:PutBucketPolicy"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.s3.models import s3_backends  # noqa: PLC0415

        backend = s3_backends[account]["aws"]
        bucket = str(properties["Bucket"])
        backend.put_bucket_policy(bucket, _policy(properties["PolicyDocument"]).encode())
        return cls(bucket, {}, lambda: backend.delete_bucket_policy(bucket))


class TopicPolicy(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SNS::TopicPolicy"
    API = "sns:SetTopicAttributes(Policy)"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.sns.models import sns_backends  # noqa: PLC0415

        backend = sns_backends[account][region]
        topics = [str(t) for t in properties["Topics"]]
        for topic in topics:
            backend.set_topic_attribute(topic, "policy", _policy(properties["PolicyDocument"]))
        return cls(name, {}, lambda: None)  # deleting a topic policy restores the default; moto keeps the last one


class Subscription(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SNS::Subscription"
    API = "sns:Subscribe"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.sns.models import sns_backends  # noqa: PLC0415

        backend = sns_backends[account][region]
        subscription = backend.subscribe(
            str(properties["TopicArn"]), str(properties["Endpoint"]), properties["Protocol"]
        )
        for attribute in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy", "FilterPolicyScope"):
            if attribute in properties:
                value = properties[attribute]
                text = value if isinstance(value, str) else json.dumps(value)
                backend.set_subscription_attributes(subscription.arn, attribute, text)
        arn = subscription.arn
        return cls(arn, {"Arn": arn}, lambda: backend.unsubscribe(arn))


class QueuePolicy(EmulatedResource, CloudFormationModel):
    TYPE = "AWS::SQS::QueuePolicy"
    API = "sqs:SetQueueAttributes(Policy)"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account: str, region: str) -> EmulatedResource:
        from moto.sqs.models import sqs_backends  # noqa: PLC0415

        backend = sqs_backends[account][region]
        queues = [str(q).rsplit("/", 1)[-1] for q in properties["Queues"]]
        for queue in queues:
            backend.set_queue_attributes(queue, {"Policy": _policy(properties["PolicyDocument"])})

        def remove() -> None:
            for queue in queues:
                backend.set_queue_attributes(queue, {"Policy": ""})

        return cls(name, {}, remove)


RESOURCE_TYPES: tuple[type[EmulatedResource], ...] = (
    ModelPackageGroup,
    FeatureGroup,
    Pipeline,
    Alarm,
    CompositeAlarm,
    ScalableTarget,
    ScalingPolicy,
    GlueDatabase,
    GlueTable,
    AthenaWorkGroup,
    BucketPolicy,
    TopicPolicy,
    Subscription,
    QueuePolicy,
)


def register() -> list[str]:
    """Make moto's CloudFormation see the classes (its type map is cached on first use); returns their types."""
    from moto.cloudformation import parsing  # noqa: PLC0415

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    known = parsing.get_model_map()
    missing = [cls.TYPE for cls in RESOURCE_TYPES if cast(object, known.get(cls.TYPE)) is not cls]
    if missing:
        raise RuntimeError(f"moto's CloudFormation does not see the demo's resource types {missing}")
    return [cls.TYPE for cls in RESOURCE_TYPES]

"""Typed, frozen configuration: the only place settings live (environments and model specs)."""

from config.cost import CostAssumptions
from config.delivery import DELIVERY, DeliverySettings, check_delivery
from config.deployment import ModelDeployment
from config.environment import (
    AbSettings,
    AlarmSettings,
    ApprovalMode,
    DeploymentSettings,
    DeploymentStrategy,
    EndpointSettings,
    Environment,
    IdleSchedule,
    MissingData,
    MonitoringBackend,
    MonitoringSettings,
    RetrainingPolicy,
    ShadowSettings,
    StorageLifecycle,
    has_local_nvme,
)
from config.environments import DEV, ENVIRONMENTS, PROD, STAGING, resolve_environments
from config.errors import ConfigError
from config.model_spec import (
    BusinessMetric,
    BusinessMetricKind,
    Direction,
    Feature,
    FeatureGroupSpec,
    FeatureType,
    Hyperparameters,
    ModelSpec,
    ObjectiveMetric,
    Owner,
    check_models,
)
from config.models import FRAUD_DETECTION, MODELS
from config.network import ExistingSubnet, ExistingVpc, NetworkMode, NetworkSettings
from config.platform import PLATFORM_OWNER

__all__ = [
    "DELIVERY",
    "DEV",
    "ENVIRONMENTS",
    "FRAUD_DETECTION",
    "MODELS",
    "PLATFORM_OWNER",
    "PROD",
    "STAGING",
    "AbSettings",
    "AlarmSettings",
    "ApprovalMode",
    "BusinessMetric",
    "BusinessMetricKind",
    "ConfigError",
    "CostAssumptions",
    "DeliverySettings",
    "DeploymentSettings",
    "DeploymentStrategy",
    "Direction",
    "EndpointSettings",
    "Environment",
    "ExistingSubnet",
    "ExistingVpc",
    "Feature",
    "FeatureGroupSpec",
    "FeatureType",
    "Hyperparameters",
    "IdleSchedule",
    "MissingData",
    "ModelDeployment",
    "ModelSpec",
    "MonitoringBackend",
    "MonitoringSettings",
    "NetworkMode",
    "NetworkSettings",
    "ObjectiveMetric",
    "Owner",
    "RetrainingPolicy",
    "ShadowSettings",
    "StorageLifecycle",
    "check_delivery",
    "check_models",
    "has_local_nvme",
    "resolve_environments",
]

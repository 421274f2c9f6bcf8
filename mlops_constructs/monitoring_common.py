"""Names and S3 locations shared by the monitoring constructs, the deployment automation and the Lambdas."""

from __future__ import annotations

from typing import Any

from config import ApprovalMode, ModelDeployment
from monitoring_job.config import AlertingConfig, job_config_from_spec

DATA_QUALITY_NAMESPACE = "MLOps/DataQuality"  # the processing backend's drift job (monitoring_job)
MODEL_QUALITY_NAMESPACE = "MLOps/ModelQuality"  # the retroactive ground-truth evaluation (lambdas/quality)
# SageMaker Model Monitor's built-in data-quality container (docs/aws-facts.md#model-monitor-metrics):
# note "data-metric", singular.
MODEL_MONITOR_DATA_NAMESPACE = "/aws/sagemaker/Endpoints/data-metric"

# Model Monitor analyzer image registry accounts (SageMaker DG "model-monitor-pre-built-container";
# the same table as sagemaker-python-sdk image_uri_config/model-monitor.json).
ANALYZER_ACCOUNTS = {
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
    "ca-central-1": "536280801234",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "eu-central-1": "048819808253",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-east-1": "001633400207",
    "af-south-1": "875698925577",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
}


def capture_prefix(deployment: ModelDeployment) -> str:
    """Key prefix of the endpoint's data capture in the data-capture bucket."""
    return f"{deployment.spec.name}/data-capture"


def ground_truth_prefix(deployment: ModelDeployment) -> str:
    """Where labels land in the Model Monitor ground-truth format (by collection hour)."""
    return f"ground-truth/{deployment.spec.name}"


def current_baseline_prefix(deployment: ModelDeployment) -> str:
    """Stable prefix (artifacts bucket) of the serving model's baselines; promotion copies them here."""
    return f"baselines/{deployment.spec.name}/current"


def analyzer_image(region: str) -> str:
    try:
        account = ANALYZER_ACCOUNTS[region]
    except KeyError:
        raise ValueError(f"no SageMaker Model Monitor analyzer image is known for region '{region}'") from None
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"


def drift_job_config(deployment: ModelDeployment, *, endpoint_name: str) -> dict[str, Any]:
    """The drift job's config (monitoring_job/config.py): the spec's monitored columns, categoricals decoded with
    the spec's categories (which the model input is encoded with), and the alarms the HTML report names."""
    return job_config_from_spec(
        deployment.spec,
        endpoint_name=endpoint_name,
        environment=deployment.env.name,
        alerting=AlertingConfig(
            alarm_prefix=deployment.prefix,
            retrain_on_alarms=deployment.env.retraining.retrain_on_alarms,
            manual_approval=deployment.env.approval is ApprovalMode.MANUAL,
        ),
    )

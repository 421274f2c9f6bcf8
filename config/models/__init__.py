"""The models the platform deploys. Adding a model is adding its spec to ``MODELS``."""

from config.model_spec import ModelSpec, check_models
from config.models.fraud_detection import FRAUD_DETECTION

MODELS: tuple[ModelSpec, ...] = check_models((FRAUD_DETECTION,))

__all__ = ["FRAUD_DETECTION", "MODELS"]

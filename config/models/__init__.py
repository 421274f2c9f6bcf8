"""The models the platform deploys. Adding a model is adding its spec to ``MODELS``."""

from config.model_spec import ModelSpec
from config.models.fraud_detection import FRAUD_DETECTION

MODELS: tuple[ModelSpec, ...] = (FRAUD_DETECTION,)

__all__ = ["FRAUD_DETECTION", "MODELS"]

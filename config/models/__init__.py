"""The models the platform deploys. Adding a model is adding its spec to ``MODELS``."""

from config.models.fraud_detection import FRAUD_DETECTION
from config.model_spec import ModelSpec

MODELS: tuple[ModelSpec, ...] = (FRAUD_DETECTION,)

__all__ = ["FRAUD_DETECTION", "MODELS"]

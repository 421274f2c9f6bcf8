"""The retraining loop's functions around the SageMaker pipeline (see README.md)."""

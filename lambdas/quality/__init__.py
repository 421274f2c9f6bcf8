"""Retroactive model-quality evaluation: joins ground truth with captured predictions
(docs/architecture.md#monitoring-backends)."""

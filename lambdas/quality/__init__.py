"""Retroactive model-quality evaluation: joins ground truth with captured predictions (DESIGN.md section 7)."""

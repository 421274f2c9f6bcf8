"""Masking for template snapshots: asset hashes change with any code edit and are not infrastructure."""

from __future__ import annotations

import json
import re
from typing import Any

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every 64-hex asset hash (S3 keys, asset metadata) replaced by a placeholder."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    result: dict[str, Any] = json.loads(text)
    return result

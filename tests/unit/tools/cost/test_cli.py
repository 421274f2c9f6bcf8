"""When ``make cost`` synthesizes first: cdk.out missing, or older than any source of the templates."""

from __future__ import annotations

import os
from pathlib import Path

from tools.cost.cli import stale


def test_cdk_out_is_stale_when_missing_or_older_than_a_source(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "config").mkdir(parents=True)
    source = root / "config" / "environments.py"
    source.write_text("DEV = ...\n")
    outdir = root / "cdk.out"

    assert stale(outdir, root)

    outdir.mkdir()
    manifest = outdir / "manifest.json"
    manifest.write_text("{}")
    os.utime(source, (1_000, 1_000))
    os.utime(manifest, (2_000, 2_000))
    assert not stale(outdir, root)

    os.utime(source, (3_000, 3_000))
    assert stale(outdir, root)

"""Print one line per synthesized stack: environment, stack name, resource count. Used by `make synth`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def stacks(outdir: Path) -> list[tuple[str, str, int]]:
    """Every stack: those of the environments' stages, and the app's own (the delivery pipeline, when on)."""
    rows: list[tuple[str, str, int]] = []
    manifest = json.loads((outdir / "manifest.json").read_text())
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
            rows.append((name, artifact["properties"].get("stackName", "?"), len(template.get("Resources", {}))))
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        nested = outdir / artifact["properties"]["directoryName"]
        for stack in json.loads((nested / "manifest.json").read_text())["artifacts"].values():
            if stack["type"] != "aws:cloudformation:stack":
                continue
            template = json.loads((nested / stack["properties"]["templateFile"]).read_text())
            rows.append(
                (
                    artifact["properties"]["displayName"],
                    stack["properties"].get("stackName", "?"),
                    len(template.get("Resources", {})),
                )
            )
    return sorted(rows)


def main() -> None:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    rows = stacks(outdir)
    for env, name, count in rows:
        print(f"{env:<10} {name:<40} {count:>4} resources")
    print(f"{len(rows)} stacks synthesized into {outdir}/")


if __name__ == "__main__":
    main()

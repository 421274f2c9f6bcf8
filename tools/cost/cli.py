"""``python -m tools.cost``: a monthly cost estimate per environment and model from the synthesized app.

Reads ``cdk.out`` (synthesizing first, as ``make synth`` does, when it is missing or older than the app's
sources), the environments in ``config`` and the price table of each environment's region.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from config import ENVIRONMENTS, Environment, resolve_environments
from tools.cost.assembly import load_assembly
from tools.cost.errors import CostError
from tools.cost.estimate import EnvironmentEstimate, apply_overrides, estimate_environment
from tools.cost.prices import load_prices
from tools.cost.render import as_json, tables

ROOT = Path(__file__).resolve().parents[2]
# What the synthesized templates are made from: newer than cdk.out means cdk.out is stale.
SOURCES = ("app.py", "cdk.json", "config", "stacks", "mlops_constructs", "pipeline_defs", "lambdas", "monitoring_job")


def estimate(
    outdir: Path, environments: Sequence[Environment], *, overrides: dict[str, str] | None = None
) -> list[EnvironmentEstimate]:
    """The estimate of every environment in ``environments`` from the assembly in ``outdir``."""
    assembly = load_assembly(outdir)
    results = []
    for env in environments:
        if env.name not in assembly:
            raise CostError(f"environment {env.name} is not in {outdir} (stages there: {', '.join(sorted(assembly))})")
        assumptions = apply_overrides(env.cost, overrides or {})
        results.append(estimate_environment(assembly[env.name], env, load_prices(env.region), assumptions=assumptions))
    return results


def stale(outdir: Path, root: Path = ROOT) -> bool:
    manifest = outdir / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for source in SOURCES:
        path = root / source
        files = [path] if path.is_file() else path.rglob("*")
        if any(f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > built for f in files):
            return True
    return False


def synthesize(outdir: Path) -> None:
    """``cdk synth`` into ``outdir`` the way ``make synth`` runs it (the pinned CLI from node_modules)."""
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    print(f"synthesizing into {outdir} ...", file=sys.stderr)
    command = ["cdk", "synth", "--quiet", "--no-notices", "--output", str(outdir)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise CostError(f"cdk synth failed:\n{result.stderr.strip()}")


def _parse_assume(values: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise CostError(f"--assume {value!r}: expected name=value, e.g. requests_per_day=50000")
        overrides[name.strip()] = text.strip()
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__)
    parser.add_argument("--env", action="append", help="environment to estimate (repeatable; default: all)")
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="synthesized app (default: cdk.out)")
    parser.add_argument("--no-synth", action="store_true", help="use cdk.out as it is, even if stale")
    parser.add_argument(
        "--assume", action="append", default=[], metavar="NAME=VALUE", help="override a usage assumption"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    try:
        # The same account/region overrides from the environment as the synth (MLOPS_<ENV>_REGION, ...).
        resolved = resolve_environments(ENVIRONMENTS, context=lambda _key: None, environ=os.environ)
        chosen = [e for e in resolved if not args.env or e.name in args.env]
        unknown = set(args.env or ()) - {e.name for e in ENVIRONMENTS}
        if unknown:
            raise CostError(f"--env: unknown environment(s) {sorted(unknown)}; known: {[e.name for e in ENVIRONMENTS]}")
        if not args.no_synth and stale(args.cdk_out):
            synthesize(args.cdk_out)
        results = estimate(args.cdk_out, chosen, overrides=_parse_assume(args.assume))
    except CostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(as_json(results) if args.json else tables(results))
    return 0

"""Deploy the dev stage into the demo's local AWS with the real, pinned CDK CLI.

    .venv/bin/python -m tools.demo.server.deploy up      # fresh emulator; synth, bootstrap, deploy every dev stack
    .venv/bin/python -m tools.demo.server.deploy down    # stop the emulator

``up`` always starts from a fresh emulator (a running one is stopped first), so a second run needs no cleanup.
It synthesizes once into ``.local/demo/cdk.out`` and deploys from there (``--app``: no synth per stack) with
``--method=direct`` (CreateStack/UpdateStack: moto's change sets lose stack outputs) in two groups around the
serving pointer, because the serving stack builds its model from it and it must name a registered model first:

0. synth, while ``cdk bootstrap`` and the local pipeline run (the first model) proceed;
1. ``FIRST_STACKS`` (platform, training): nothing in them needs a model;
2. the serving pointer: ``up`` registers the local pipeline run's model (``pipeline_defs.local_run`` trains the
   fraud-detection spec) with the real ``tools.bootstrap_serving``
   (running ``pipeline_defs.local_run`` first if its output is missing), as the README's "Deploy for real" does;
   the demo's story instead trains the first model through the deployed pipeline;
3. ``REST_STACKS`` (serving, monitoring, retraining).

The driver calls ``start_emulator``, ``synthesize``, ``bootstrap`` and ``deploy`` itself with its own order. Every
resource the emulator creates outside moto's CloudFormation (``cfn_resources``) is printed after its deploy.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from config import FRAUD_DETECTION
from tools.demo.server import launcher
from tools.demo.server.environment import DEFAULT_STATE_DIR, DEMO_ENVIRONMENT, ROOT, DemoPaths

FIRST_STACKS = (f"{DEMO_ENVIRONMENT}/platform", f"{DEMO_ENVIRONMENT}/*-training")
REST_STACKS = (f"{DEMO_ENVIRONMENT}/*",)
CLI_TIMEOUT_SECONDS = 600  # a stack that never stabilizes (an unsupported custom resource) must not hang the demo
EMULATOR_LOG_MARKER = " demo.server.cfn "


class DeployError(RuntimeError):
    """A deploy step failed; the message names the step and ends with the command's last output lines."""


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    emulated: tuple[str, ...] = ()  # what the emulator created outside moto's CloudFormation meanwhile


def path_with_pinned_tools() -> str:
    """node_modules/.bin first: the pinned CDK CLI and Node 22 (jsii runs on it during synth)."""
    return f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"


def _run(name: str, command: Sequence[str], *, env: dict[str, str], cwd: Path, paths: DemoPaths, quiet: bool) -> Step:
    log_offset = paths.log_file.stat().st_size if paths.log_file.exists() else 0
    started = time.monotonic()
    if not quiet:
        print(f"demo: {name}: {shlex.join(command)}", flush=True)
    env = {**env, "PATH": path_with_pinned_tools()}
    try:
        completed = subprocess.run(  # noqa: S603 - the pinned CLI / our own tools, arguments built here
            list(command),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        raise DeployError(f"{name}: no result after {CLI_TIMEOUT_SECONDS} s; see {paths.log_file}") from expired
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout or "").strip().splitlines()[-25:])
        raise DeployError(
            f"{name} failed with exit code {completed.returncode}; emulator log: {paths.log_file}\n{tail}"
        )
    emulated = _emulated_since(paths, log_offset)
    if not quiet:
        for line in emulated:
            print(f"demo:   emulator {line}", flush=True)
        print(f"demo: {name}: done in {seconds:.1f} s", flush=True)
    return Step(name, seconds, emulated)


def _emulated_since(paths: DemoPaths, offset: int) -> tuple[str, ...]:
    if not paths.log_file.exists():
        return ()
    with paths.log_file.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    return tuple(line.split(EMULATOR_LOG_MARKER, 1)[1] for line in lines if EMULATOR_LOG_MARKER in line)


def start_emulator(paths: DemoPaths, *, fresh: bool = True, port: int = 0) -> launcher.ServerInfo:
    """Start the emulator in the background; ``fresh`` stops a running one first (a clean account)."""
    if fresh:
        launcher.stop(paths)
    started = time.monotonic()
    info = launcher.start(paths, port=port)
    print(
        f"demo: local AWS at {info.endpoint_url} (account {info.account}, {info.region}) in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    return info


def synthesize(info: launcher.ServerInfo, paths: DemoPaths, *, quiet: bool = False) -> Step:
    """``cdk synth`` of the app into the state directory's cdk.out (offline: synth makes no AWS call)."""
    command = ["cdk", "synth", "--quiet", "--no-notices", "--output", str(paths.cdk_out)]
    return _run("synth", command, env=info.environment(paths), cwd=ROOT, paths=paths, quiet=quiet)


def bootstrap(info: launcher.ServerInfo, paths: DemoPaths, *, quiet: bool = False) -> Step:
    """``cdk bootstrap`` of the emulated account, from the state directory (no cdk.json there: no synth)."""
    command = ["cdk", "bootstrap", f"aws://{info.account}/{info.region}", "--no-notices"]
    return _run("bootstrap", command, env=info.environment(paths), cwd=paths.root, paths=paths, quiet=quiet)


def deploy(
    info: launcher.ServerInfo,
    paths: DemoPaths,
    stacks: Sequence[str],
    *,
    app: Path | None = None,
    quiet: bool = False,
) -> Step:
    """``cdk deploy`` of ``stacks`` (stack selectors like ``dev/platform`` or ``dev/*``) from the synthesized app
    (``app``, by default the state directory's cdk.out)."""
    command = [
        "cdk", "deploy", *stacks,
        "--app", str(app or paths.cdk_out),
        "--method=direct",
        "--require-approval", "never",
        "--no-notices",
        "--exclusively",
    ]  # fmt: skip
    return _run(f"deploy {' '.join(stacks)}", command, env=info.environment(paths), cwd=ROOT, paths=paths, quiet=quiet)


def local_pipeline_run(info: launcher.ServerInfo, paths: DemoPaths, *, out: Path, quiet: bool = False) -> list[Step]:
    """``pipeline_defs.local_run`` into ``out`` unless it already holds a model (offline; no AWS call)."""
    if (out / "model" / "model.tar.gz").is_file():
        return []
    command = [sys.executable, "-m", "pipeline_defs.local_run", "--out", str(out)]
    return [_run("pipeline local run", command, env=info.environment(paths), cwd=ROOT, paths=paths, quiet=quiet)]


def bootstrap_serving(
    info: launcher.ServerInfo, paths: DemoPaths, *, local_run: Path, quiet: bool = False
) -> list[Step]:
    """Register the local pipeline run's model and set the serving pointer (``tools.bootstrap_serving``), running
    the local pipeline first if ``local_run`` holds no model. The local run trains the fraud-detection spec."""
    steps = local_pipeline_run(info, paths, out=local_run, quiet=quiet)
    command = [
        sys.executable, "-m", "tools.bootstrap_serving", "--env", DEMO_ENVIRONMENT, "--model", FRAUD_DETECTION.name,
        "--artifact", str(local_run / "model" / "model.tar.gz"),
        "--baselines", str(local_run / "baselines"),
    ]  # fmt: skip
    steps.append(_run("bootstrap serving", command, env=info.environment(paths), cwd=ROOT, paths=paths, quiet=quiet))
    return steps


def up(
    paths: DemoPaths, *, local_run: Path, port: int = 0, reuse_synth: bool = False, quiet: bool = False
) -> list[Step]:
    """Fresh emulator, synth, bootstrap, the first stacks, the serving pointer, the rest.

    Synth runs while the account is bootstrapped and the local pipeline run trains the first model (neither
    needs the synthesized app); the deploys wait for it."""
    started = time.monotonic()
    info = start_emulator(paths, port=port)
    steps = [Step("emulator", time.monotonic() - started)]
    with ThreadPoolExecutor(max_workers=1) as background:
        synth = None
        if not (reuse_synth and (paths.cdk_out / "manifest.json").is_file()):
            synth = background.submit(synthesize, info, paths, quiet=quiet)
        steps.append(bootstrap(info, paths, quiet=quiet))
        steps.extend(local_pipeline_run(info, paths, out=local_run, quiet=quiet))
        if synth is not None:
            steps.append(synth.result())
    steps.append(deploy(info, paths, FIRST_STACKS, quiet=quiet))
    steps.extend(bootstrap_serving(info, paths, local_run=local_run, quiet=quiet))
    steps.append(deploy(info, paths, REST_STACKS, quiet=quiet))
    total = time.monotonic() - started
    print(
        "demo: " + ", ".join(f"{s.name} {s.seconds:.1f} s" for s in steps) + f"; {total:.1f} s in all (synth "
        "overlaps bootstrap and the local run)",
        flush=True,
    )
    print(
        f"demo: the dev stage runs at {info.endpoint_url}; "
        "`eval $(.venv/bin/python -m tools.demo.server.launcher env)` points the AWS CLI at it, "
        "`make demo-down` stops it",
        flush=True,
    )
    return steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("up")
    command.add_argument("--port", type=int, default=0)
    command.add_argument(
        "--local-run", type=Path, default=None, help="pipeline local-run output (default: <state-dir>/pipeline-local)"
    )
    command.add_argument(
        "--reuse-synth", action="store_true", help="deploy the last synthesized app (skip synth if there is one)"
    )
    commands.add_parser("down")
    args = parser.parse_args(argv)
    paths = DemoPaths(args.state_dir.resolve())
    if args.command == "down":
        stopped = launcher.stop(paths)
        print(f"demo: stopped the emulator (pid {stopped.pid})" if stopped else "demo: no emulator running")
        return
    try:
        up(
            paths,
            local_run=args.local_run or paths.root / "pipeline-local",
            port=args.port,
            reuse_synth=args.reuse_synth,
        )
    except (DeployError, launcher.ServerError) as error:
        raise SystemExit(f"demo: {error}") from None


if __name__ == "__main__":
    main()

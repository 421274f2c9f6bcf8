"""Start, stop and inspect the demo's local AWS: moto served in-process on 127.0.0.1 with the demo's patches.

    .venv/bin/python -m tools.demo.server.launcher start     # background; pid and port in .local/demo/server.json
    .venv/bin/python -m tools.demo.server.launcher serve     # foreground (Ctrl-C stops it)
    .venv/bin/python -m tools.demo.server.launcher status
    .venv/bin/python -m tools.demo.server.launcher env       # shell exports to point the AWS CLI or tools at it
    .venv/bin/python -m tools.demo.server.launcher stop

The server emulates one account and region: the dev environment's, as the app resolves them (the configured
placeholder account, or ``MLOPS_DEV_ACCOUNT``/``MLOPS_DEV_REGION``), so the synthesized templates and ARNs
match what it answers. Before it serves, it turns on moto's Step Functions interpreter and Docker-free Lambda,
applies every module of ``tools.demo.server.patches`` and registers ``cfn_resources``. Its log (every Lambda run,
EventBridge delivery and resource created outside moto's CloudFormation) is ``.local/demo/server.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.demo.server.environment import (
    DEFAULT_STATE_DIR,
    HOST,
    DemoPaths,
    client_environment,
    demo_environment,
    isolated_environment,
)

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


class ServerError(RuntimeError):
    """The emulator could not be started, reached or stopped; the message says why and where to look."""


@dataclass(frozen=True)
class ServerInfo:
    """A running emulator, as recorded in the state directory's ``server.json``."""

    pid: int
    port: int
    account: str
    region: str

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def environment(self, paths: DemoPaths) -> dict[str, str]:
        """The environment for a client of this server (see ``environment.client_environment``)."""
        return client_environment(endpoint_url=self.endpoint_url, account=self.account, region=self.region, paths=paths)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def read_info(paths: DemoPaths) -> ServerInfo | None:
    """The recorded server if its process is still alive, else None (a stale record is removed)."""
    try:
        info = ServerInfo(**json.loads(paths.server_file.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if not _alive(info.pid):
        paths.server_file.unlink(missing_ok=True)
        return None
    return info


# Servers started by this process (tests, the deploy step), kept so that their exit is reaped and seen.
_started: dict[int, subprocess.Popen[bytes]] = {}


def _alive(pid: int) -> bool:
    if pid in _started:
        return _started[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _configure_moto(context_python: str, paths: DemoPaths, *, port: int, account: str, region: str) -> list[str]:
    """Everything that must happen in-process before the server answers its first request."""
    os.environ["MOTO_ACCOUNT_ID"] = account  # read per request (moto/core/responses.py get_current_account)
    os.environ["MOTO_PORT"] = str(port)  # the Step Functions interpreter calls services on localhost:MOTO_PORT
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    from moto.core.config import default_user_config  # noqa: PLC0415

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}

    from tools.demo.server import cfn_resources  # noqa: PLC0415
    from tools.demo.server.patches import ServerContext, apply_all  # noqa: PLC0415

    context = ServerContext(
        endpoint_url=f"http://{HOST}:{port}", account=account, region=region, python=context_python, paths=paths
    )
    applied = apply_all(context)
    cfn_resources.register()
    return applied


def serve(paths: DemoPaths, *, port: int = 0, stop: threading.Event | None = None) -> None:
    """Serve in the foreground until SIGTERM/SIGINT (or ``stop`` is set); records ``server.json`` once ready."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    env = demo_environment()
    port = port or free_port()
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.prepare(account=env.account, region=env.region)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    applied = _configure_moto(sys.executable, paths, port=port, account=env.account, region=env.region)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    info = ServerInfo(pid=os.getpid(), port=port, account=env.account, region=env.region)
    logging.getLogger("demo.server").info(
        "moto serving %s for account %s in %s; patches: %s",
        info.endpoint_url,
        env.account,
        env.region,
        ", ".join(applied),
    )
    done = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread (tests)
            signal.signal(sig, lambda *_: done.set())
    paths.server_file.write_text(json.dumps(asdict(info)))
    try:
        done.wait()
    finally:
        paths.server_file.unlink(missing_ok=True)
        server.stop()
    if stop is None:
        # A server process ends here: state machine executions and event deliveries still running in their
        # threads die with the emulator, as its state does; waiting for them would only delay the stop.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def start(paths: DemoPaths, *, port: int = 0) -> ServerInfo:
    """Start the server in the background (reusing a running one); returns once it answers."""
    running = read_info(paths)
    if running is not None:
        return running
    paths.root.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[3]
    env = demo_environment()
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running this module
            [
                sys.executable,
                "-m",
                "tools.demo.server.launcher",
                "--state-dir",
                str(paths.root),
                "serve",
                "--port",
                str(port),
            ],
            cwd=root,
            # the emulators' own boto3 clients and the jobs they run see fake credentials only
            env=isolated_environment(account=env.account, region=env.region, paths=paths),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _started[process.pid] = process
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the emulator exited with {process.returncode} while starting; see {paths.log_file}")
        info = read_info(paths)
        if info is not None and info.pid == process.pid and _answers(info):
            return info
        time.sleep(0.1)
    process.terminate()
    raise ServerError(f"the emulator did not answer within {READY_TIMEOUT_SECONDS:.0f} s; see {paths.log_file}")


def _answers(info: ServerInfo) -> bool:
    try:
        with urllib.request.urlopen(f"{info.endpoint_url}/moto-api/", timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def stop(paths: DemoPaths) -> ServerInfo | None:
    """Stop the recorded server (SIGTERM, then SIGKILL after a grace period); returns what was stopped."""
    info = read_info(paths)
    if info is None:
        return None
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
    paths.server_file.unlink(missing_ok=True)
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "serve"):
        command = commands.add_parser(name)
        command.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    for name in ("stop", "status", "env"):
        commands.add_parser(name)
    args = parser.parse_args(argv)
    paths = DemoPaths(args.state_dir.resolve())
    if args.command == "serve":
        serve(paths, port=args.port)
    elif args.command == "start":
        info = start(paths, port=args.port)
        print(f"local AWS emulator at {info.endpoint_url} (account {info.account}, {info.region}, pid {info.pid})")
    elif args.command == "stop":
        stopped = stop(paths)
        print(f"stopped the emulator (pid {stopped.pid})" if stopped else "no emulator running")
    else:
        running = read_info(paths)
        if running is None:
            raise SystemExit("no emulator running; start it with `make demo-up`")
        if args.command == "status":
            print(
                f"local AWS emulator at {running.endpoint_url} (account {running.account}, {running.region}, "
                f"pid {running.pid})"
            )
        else:
            for key, value in sorted(running.environment(paths).items()):
                if key.startswith(("AWS_", "CDK_")):
                    print(f"export {key}={value}")


if __name__ == "__main__":
    main()

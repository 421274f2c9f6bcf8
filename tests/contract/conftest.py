"""The contract tier's inputs: the calls the producer tests recorded, and the session's synth, resolved.

In ``make test`` the producer tests run in the same session before this tier (it sorts last), so their calls
are already recorded. Run on its own (``pytest tests/contract``, ``make contract``), it records them first by
running the producer tests in a subprocess with ``--contract-record``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.contract import recorder, seams
from tests.contract.contract import Checker, Report, register_operators
from tests.contract.definitions import register_principals
from tests.contract.seams import Scenario
from tests.contract.stand_ins import CONFIG_KEYS, stand_ins
from tests.contract.templates import Environment, load_environments
from tests.support.synth import Synthesized

ROOT = Path(__file__).resolve().parents[2]
# The tests whose calls the tier checks: every test of code that calls AWS (Lambda handlers, the CLI, the
# bootstrap tool, the step scripts, the drift job) and the offline runs of the retraining state machine.
PRODUCERS = (
    "tests/unit/deployment",
    "tests/unit/retraining",
    "tests/unit/quality",
    "tests/unit/monitoring_window",
    "tests/unit/monitoring",
    "tests/unit/ingestion",
    "tests/unit/cli",
    "tests/unit/tools/test_bootstrap_serving.py",
    "tests/unit/pipeline_scripts",
    "tests/integration/retraining",
)


# What the tier judged, printed at the end of the session (``make test`` captures the tests' output).
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.section("IAM contract")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def _ran_in_session(session: pytest.Session) -> bool:
    paths = {str(Path(str(item.fspath)).relative_to(ROOT)) for item in session.items}
    return all(any(p == producer or p.startswith(producer + "/") for p in paths) for producer in PRODUCERS)


@pytest.fixture(scope="session")
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    given = request.config.getoption("--contract-calls")
    if given:
        recorded_before: dict[str, Any] = json.loads(Path(given).read_text())
        return recorded_before
    if _ran_in_session(request.session):
        return recorder.recording()
    path = tmp_path_factory.mktemp("contract") / "calls.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *PRODUCERS,
        "-q",
        "-p",
        "no:cacheprovider",
        "--contract-record",
        str(path),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not path.exists():
        pytest.fail(f"recording the producer tests failed ({' '.join(command)}):\n{result.stdout[-3000:]}")
    recorded: dict[str, Any] = json.loads(path.read_text())
    return recorded


@pytest.fixture(scope="session")
def environments(synth: Synthesized) -> dict[str, Environment]:
    return load_environments(synth.outdir, synth.templates)


@pytest.fixture(scope="session")
def checker(environments: dict[str, Environment]) -> Checker:
    checker = Checker(environments, stand_ins=stand_ins(environments), known_config_keys=CONFIG_KEYS)
    register_principals(checker)
    register_operators(checker)
    return checker


@pytest.fixture(scope="session")
def recorded_report(checker: Checker, recording: dict[str, Any]) -> Report:
    report = Report()
    checker.check_recorded(recording, report)
    return report


@pytest.fixture(scope="session")
def bootstraps(checker: Checker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """The real bootstrap tool run for every environment: the package a new environment serves first."""
    return {env: seams.bootstrap(env, tmp_path_factory.mktemp(f"bootstrap-{env}")) for env in checker.environments}


@pytest.fixture(scope="session")
def drift_windows(checker: Checker) -> dict[str, Scenario]:
    """The drift window function's logic with its deployed environment, where the processing backend runs."""
    found = {}
    for env, environment in checker.environments.items():
        for principal in checker.lambdas[env].get("lambdas.monitoring.window", []):
            found[env] = seams.drift_window(env, principal.environment, region=environment.region, now=seams.NOW)
    return found

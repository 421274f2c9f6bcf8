"""Benchmark: state transitions (and their Step Functions price) of a retraining run, ours against a polling
design, for several pipeline durations, executed offline.

    .venv/bin/python benchmarks/transitions/run.py      (also part of `make benchmarks`)

Synthesizes the DEV stage, then for each ``--minutes`` runs the synthesized retraining state machine twice in
moto's interpreter with the real handlers (loop.py): as synthesized (the pipeline wait is a task token that the
pipeline's status event completes) and as the polling design (a Wait / DescribePipelineExecution / Choice loop
every ``--poll-seconds``). Counts every state entered (each a billed transition) and every Lambda invocation,
prices them with tools/cost's price table, stores it all in results.json and renders RESULTS.md and the README
section from it (record.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import project_env  # noqa: E402 - after the path set-up above

# The offline world's boto3 clients and the handlers' Powertools need these before they are imported.
os.environ.update(project_env())
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps/Benchmark",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

from benchmarks import records  # noqa: E402
from benchmarks.common import Session, python_command  # noqa: E402
from benchmarks.transitions.loop import RunCount, run_ours, run_polling  # noqa: E402
from tests.support.sfn_offline import environment, resolve, synthesize_environments  # noqa: E402
from tools.cost.prices import load_prices  # noqa: E402

REGION = "us-east-1"
PRICES = ("stepfunctions.standard_transitions", "lambda.requests")


def counted(run: RunCount) -> dict[str, object]:
    """What the record keeps of a run: its counts, and how often it entered each state (in first-entered order;
    the full sequence of a polling run is thousands of names)."""
    return {
        "transitions": run.transitions,
        "lambda_invocations": run.lambda_invocations,
        "polls": run.polls,
        "states_entered": [[name, n] for name, n in Counter(run.states).items()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 180], help="pipeline durations")
    parser.add_argument("--poll-seconds", type=int, default=60, help="the polling design's interval")
    parser.add_argument("--seconds-per-minute", type=float, default=0.005, help="time compression of our wait")
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=True, help="write the record")
    args = parser.parse_args()
    session = Session()
    with tempfile.TemporaryDirectory() as tmp:
        print("synthesizing dev ...", flush=True)
        dev = environment("dev")
        resolved = resolve(synthesize_environments(Path(tmp), [dev]), dev)
    runs = []
    for minutes in args.minutes:
        ours = run_ours(resolved, minutes=minutes, seconds_per_minute=args.seconds_per_minute)
        polling = run_polling(resolved, minutes=minutes, poll_seconds=args.poll_seconds)
        print(f"  {minutes:g} min: ours {ours.transitions} transitions, polling {polling.transitions}", flush=True)
        runs.append({"pipeline_minutes": minutes, "ours": counted(ours), "polling": counted(polling)})
    table = load_prices(REGION)
    raw = {
        "command": python_command("benchmarks/transitions/run.py", sys.argv[1:]),
        "environment": session.environment(),
        "parameters": {"poll_seconds": args.poll_seconds, "seconds_per_minute": args.seconds_per_minute},
        "prices": {
            "table": f"{table.path.name}, {table.region}, taken {table.taken}",
            **{key: {"usd": table.price(key).usd, "per": table.price(key).per} for key in PRICES},
        },
        "runs": runs,
    }
    return records.publish("transitions", raw, record=args.record)


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m monitoring_job analyze|merge``, following the SageMaker Processing I/O contract.

Processing downloads each ``ProcessingInput`` to its ``LocalPath`` under ``/opt/ml/processing/`` before the
container starts and uploads each ``ProcessingOutput`` ``LocalPath`` after it exits; the defaults below are
those local paths, so the CDK only sets the S3 side.

Exit status: 0 = no violation; 2 (``--violations-exit-code``) = violations or drift found; 1 = the job could
not run (bad config, unusable baseline, unreadable input, unwritable output), with the reason on stderr.
SageMaker marks any non-zero exit as a failed job, so a scheduled run that must "succeed with violations"
passes ``--violations-exit-code 0`` and relies on the metrics and reports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from monitor_stats.errors import BaselineError
from monitoring_job.errors import JobError
from monitoring_job.job import Outcome, Publishing, analyze, merge
from monitoring_job.metrics import cloudwatch_client

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_VIOLATIONS = 2

PROCESSING = Path("/opt/ml/processing")
DEFAULT_INPUT = PROCESSING / "input" / "capture"
DEFAULT_BASELINE = PROCESSING / "input" / "baseline"
DEFAULT_CONFIG = PROCESSING / "input" / "config" / "job_config.json"
DEFAULT_OUTPUT = PROCESSING / "output"
DEFAULT_SHARDS = PROCESSING / "input" / "shards"


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on a usage error; here 2 means "violations", so usage errors exit with 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILED, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m monitoring_job", description="Data-quality and drift job for data capture.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("analyze", help="read capture files, compare with the baseline, write reports")
    run.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="data-capture directory (*.jsonl, recursive)")
    run.add_argument("--shard-output-only", action="store_true", help="write only mergeable shard statistics")
    run.add_argument("--shard-id", default=None, help="shard folder name (default: this instance's host name)")
    run.add_argument("--workers", type=int, default=0, help="reader processes; 0 = one per CPU for windows over 32 MiB")
    _common(run)
    join = commands.add_parser("merge", help="merge shard statistics, compare with the baseline, write reports")
    join.add_argument("--shards", type=Path, nargs="+", default=[DEFAULT_SHARDS], help="folders with shard_stats.json")
    _common(join)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline", type=Path, default=DEFAULT_BASELINE, help="folder with statistics.json and constraints.json"
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="job config JSON written from the model spec"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output folder")
    parser.add_argument("--no-publish", action="store_true", help="never call CloudWatch (EMF lines are still written)")
    parser.add_argument("--emf-stdout", action="store_true", help="also print the EMF metric lines to stdout")
    parser.add_argument("--violations-exit-code", type=int, default=EXIT_VIOLATIONS, choices=range(0, 256), metavar="N")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    publishing = Publishing(
        enabled=not args.no_publish, client_factory=cloudwatch_client, emf_to_stdout=args.emf_stdout
    )
    try:
        outcome = _run(args, publishing)
    except (JobError, BaselineError) as error:
        print(f"monitoring_job: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.violations:
        return int(args.violations_exit_code)
    return EXIT_OK


def _run(args: argparse.Namespace, publishing: Publishing) -> Outcome:
    if args.command == "analyze":
        return analyze(
            input_dir=args.input,
            baseline_dir=args.baseline,
            config_path=args.config,
            output_dir=args.output,
            shard_only=args.shard_output_only,
            shard_id=args.shard_id,
            workers=max(0, args.workers),
            publishing=publishing,
        )
    return merge(
        shard_dirs=args.shards,
        baseline_dir=args.baseline,
        config_path=args.config,
        output_dir=args.output,
        publishing=publishing,
    )

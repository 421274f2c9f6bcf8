"""``make demo``: ``python -m tools.demo [--quick] [--runs N] [--state-dir DIR] [--port N]``.

See ``tools.demo.story``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tools.demo.server.deploy import DeployError
from tools.demo.server.environment import DEFAULT_STATE_DIR, DemoPaths
from tools.demo.server.launcher import ServerError
from tools.demo.story import StoryConfig, StoryError, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smaller world (the test's run)",
    )
    parser.add_argument(
        "--reuse-synth", action="store_true", help="deploy the last synthesized app (skip synth if there is one)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        choices=(0, 1, 2, 3),
        default=StoryConfig.retraining_runs,
        help="retraining runs to follow: 1 promoted (and a retrigger skipped), 2 not better, 3 rolled back "
        "(default 3: all of them; 0: the story ends once the drift alarm started the loop, which runs on)",
    )
    args = parser.parse_args(argv)
    paths = DemoPaths(args.state_dir.resolve())
    config = dataclasses.replace(StoryConfig.quick() if args.quick else StoryConfig(), retraining_runs=args.runs)
    try:
        timeline = run(paths, config=config, port=args.port, reuse_synth=args.reuse_synth)
    except (StoryError, DeployError, ServerError) as error:
        print(f"demo: FAILED: {error}", file=sys.stderr)
        print(f"demo: the emulator's log is {paths.log_file}", file=sys.stderr)
        return 1
    for line in timeline.summary():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

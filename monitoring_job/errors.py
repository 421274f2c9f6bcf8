"""Errors that make the job itself fail (exit status 1).

Problems found in the *data* are never raised: they become violations. Only a job that cannot do its work
(unreadable or invalid job config, unusable baseline, unwritable output, inconsistent shards) raises one of
these, or ``monitor_stats.errors.BaselineError`` for an unusable baseline. Each message names the file and the
field at fault.
"""

from __future__ import annotations


class JobError(Exception):
    """The job cannot run. ``str(error)`` is the message printed for the operator."""


class JobConfigError(JobError):
    """The job config file is missing, not JSON, or a field is invalid."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"job config {where}: {problem}")


class ShardError(JobError):
    """Shard statistics cannot be read or were computed against a different config or baseline."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"shard {where}: {problem}")

"""Routing: an Athena query runs when it starts (``tools.demo.emulators.athena``, DuckDB over the Glue tables).

Gap: moto's StartQueryExecution (moto/athena/models.py ``AthenaBackend.start_query_execution``) records the
query and runs nothing: GetQueryExecution reports ``SUCCEEDED`` and the result file never exists, so the
training pipeline's dataset step (``pipeline_defs/scripts/dataset.py --engine athena``) reads no data.

Patch: StartQueryExecution records the query as moto does, answers at once with the query ``RUNNING``, and
runs it with ``athena.run_query`` on a background thread, as Athena runs queries asynchronously (moto's own
state model, which would answer ``SUCCEEDED`` on the first GetQueryExecution, is held at ``RUNNING`` while it
runs): the caller
polls GetQueryExecution until ``SUCCEEDED`` (the result CSV in place) or ``FAILED``. (Run inside the request, a
query over many offline-store files outlasted the client's read timeout.)
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.demo.server.patches import ServerContext

log = logging.getLogger("demo.server.athena")


def apply(context: ServerContext) -> None:
    from moto.athena.models import AthenaBackend  # noqa: PLC0415

    original = AthenaBackend.start_query_execution

    @functools.wraps(original)
    def start_query_execution(self: Any, *args: Any, **kwargs: Any) -> str:
        from tools.demo.emulators import athena  # noqa: PLC0415
        from tools.demo.server.patches import emulator_aws  # noqa: PLC0415

        query_id: str = original(self, *args, **kwargs)
        execution = self.executions[query_id]
        # moto's state model (moto_api ManagedState) would report the next state, SUCCEEDED, on the first read:
        # while the emulator runs the query, RUNNING is its only state; run_query then sets the final one.
        execution._transitions = [("RUNNING", "RUNNING")]
        execution.status = "RUNNING"

        def run() -> None:
            try:
                state = athena.run_query(
                    emulator_aws(context), query_id, workdir=context.paths.root / "emulators" / "athena"
                )
            except Exception as error:  # an emulator failure ends the query as Athena's internal error would
                log.exception("athena query %s could not run", query_id)
                athena.last_failure[query_id] = f"emulator error: {error}"
                self.executions[query_id].status = "FAILED"
                return
            failure = f": {athena.last_failure.get(query_id)}" if state == "FAILED" else ""
            log.info("athena query %s %s%s", query_id, state, failure)

        threading.Thread(target=run, name=f"athena-{query_id[:8]}", daemon=True).start()
        return query_id

    setattr(AthenaBackend, "start_query_execution", start_query_execution)  # noqa: B010

"""The ``processing`` monitoring backend: the project's own data-quality and drift job
(docs/architecture.md#monitoring-backends).

It runs as a SageMaker Processing job on a schedule (and locally, the same way), reads endpoint data capture,
compares it with a Model Monitor baseline, and writes what Model Monitor writes (``statistics.json``,
``constraint_violations.json``) plus an HTML report, a drift report and CloudWatch metrics. It streams, keeps
memory bounded by one batch, and its per-shard statistics merge, so it scales out across instances.

Run-time dependencies: the Python standard library and numpy; orjson when present (faster decoding).
Modules, in data-flow order: ``config`` (job config) -> ``capture`` and ``parsing`` (capture files to column
batches, quarantine) -> ``stats`` (mergeable accumulators) -> ``compare`` and ``significance`` (drift and
constraint checks) -> ``formats``, ``report``, ``metrics`` (outputs) -> ``job`` and ``cli`` (entry points);
``synthetic`` makes test data. The baseline (what is monitored, its writer and its reader) is ``monitor_stats``,
the module the pipeline's Baseline step writes it with; it ships in this job's code bundle.
"""

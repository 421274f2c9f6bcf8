"""Model Monitor statistics: the one module that decides what is monitored and writes and reads its baseline.

Every producer and consumer of a data-quality baseline uses it, so a baseline written by one is read by the other
by construction:

- the pipeline's Baseline step (``pipeline_defs/scripts/baseline.py``) writes the baseline with ``suggest``;
- the ``processing`` drift job (``monitoring_job``) reads it with ``baseline`` and bins with ``binning``;
- the CDK writes the drift job's config and the Model Monitor record preprocessor (``preprocessor``) from the
  same ``columns.monitored_columns``;
- ``tools.bootstrap_serving`` checks a baseline against the spec's columns before publishing it.

Modules: ``columns`` (monitored columns, category decoding), ``binning`` (the one binning rule), ``suggest``
(write ``statistics.json`` / ``constraints.json``), ``baseline`` (read them), ``schema`` (structural checks of the
documented formats), ``preprocessor`` (the Model Monitor record preprocessor), ``errors``.

Run-time dependencies: the standard library and numpy. It never imports ``config``, the CDK or ``lambdas``: it
ships in both the pipeline's and the drift job's code bundles.
"""

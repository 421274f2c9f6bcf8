"""The training pipeline's step scripts, one module per step, each runnable locally and in SageMaker.

Contract shared by every step (the SageMaker Processing/Training I/O contract):

- inputs and outputs are directories given as argparse options whose defaults are the paths SageMaker mounts
  (``/opt/ml/processing/input/...``, ``/opt/ml/processing/output/...``, ``/opt/ml/input/data/<channel>``,
  ``/opt/ml/model``), so a local run passes its own directories and SageMaker passes nothing;
- the model's shape comes from ``spec.json`` (``pipeline_defs.scripts.spec``), written from the
  ``config`` ``ModelSpec``: the scripts never import ``config``;
- bad input raises ``StepInputError`` (``pipeline_defs.scripts.common``) with a message naming the problem;
  ``main()`` prints it as ``error: ...`` on stderr and exits 2, so a SageMaker job's failure reason says what
  was wrong instead of showing a traceback from deep inside a library;
- in SageMaker the code bundle holds ``pipeline_defs/``, ``lambdas/shared/`` and ``monitor_stats/``; the job runs
  ``python3 -m pipeline_defs.scripts.<step>`` with ``PYTHONPATH`` set to the bundle root, and installs
  ``pipeline_defs/scripts/requirements.txt``.
"""

"""``python -m monitoring_job``: see cli.py."""

import os

# The job's numpy work is single-threaded; idle BLAS worker threads only contend for the instance's cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from monitoring_job.cli import main

raise SystemExit(main())

"""The SageMaker images the jobs run on, and what each one already carries.

No job installs anything at run time (no ``pip install``, no package index, no route to the internet needed):
every step runs on an image that already has what its code imports, and the code itself comes from the code
bundle (``mlops_constructs/code_bundle.py``). ``IMAGES`` pins, per image, the Python version and the packages
the project's code may import from it, with the public source that says so; a test
(``tests/unit/pipeline_definition/test_images.py``) follows every job's imports through the bundle it runs and
fails on one that is neither in the bundle, nor in the standard library, nor in this table.

Which step runs where (``pipeline_defs/definition.py``; the drift job in ``mlops_constructs/drift_job.py``)::

    step       image                        imports (besides the bundle and the standard library)
    Dataset    scikit-learn 1.4-2-py312     pyarrow (the Athena result), boto3 / botocore (Athena, S3)
    Preprocess scikit-learn 1.4-2-py312     pyarrow, numpy
    Train      XGBoost 1.7-1 (algorithm)    - (the built-in algorithm runs no project code)
    Score      XGBoost 1.7-1                xgboost, numpy; boto3 to fetch the champion model
                                            (it also scores the baseline rows: the baseline's prediction)
    Evaluate   scikit-learn 1.4-2-py312     numpy
    Baseline   scikit-learn 1.4-2-py312     -
    Decide     scikit-learn 1.4-2-py312     -
    drift job  scikit-learn 1.4-2-py312     numpy (orjson when present: it is not, the job falls back to json)

The model is loaded only where it was made: the Score step runs on the same XGBoost 1.7-1 image as the
built-in algorithm that trained it (and as the endpoint that serves it), so the booster is read by the xgboost
that wrote it. That image's Python is 3.8, so ``pipeline_defs/scripts/score.py`` (and the helpers it imports)
are written for Python 3.8; every other step needs Python >= 3.11 and runs on the scikit-learn image, the only
SageMaker framework image the SDK knows with such a Python. DuckDB, the local run's query engine, is in no
image: the Dataset step on AWS runs its query on Athena through boto3 and reads the result with pyarrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SKLEARN_SOURCE = (
    "github.com/aws/sagemaker-scikit-learn-container: docker/1.4-2-py312/base/Dockerfile.cpu (Ubuntu 24.04, "
    "python3.12 from the deadsnakes PPA; `uv pip install numpy==2.1.0 scikit-learn==1.4.2 pyarrow==17.0.0`; the "
    "AWS CLI v2) and docker/1.4-2-py312/final/Dockerfile.cpu (installs the repository's requirements.txt, which "
    "lists boto3 and botocore, and the sagemaker_sklearn_container wheel); scipy is a requirement of "
    "scikit-learn 1.4.2 (scipy>=1.6.0)"
)
XGBOOST_SOURCE = (
    "github.com/aws/sagemaker-xgboost-container: docker/1.7-1/base/Dockerfile.cpu (Miniconda with "
    "PYTHON_VERSION=3.8.x, PYARROW_VERSION=14.0.1, `pip install xgboost==${XGBOOST_VERSION}` with "
    "XGBOOST_VERSION=1.7.4) and docker/1.7-1/final/Dockerfile.cpu (installs the repository's requirements.txt: "
    "boto3, botocore, numpy, pandas, scipy, scikit-learn)"
)


@dataclass(frozen=True, kw_only=True)
class Image:
    """One SageMaker image: its framework and version in the SDK's image table, Python, and packages.

    ``packages`` maps the top-level import name to ``distribution==version`` (the version where the public
    source pins one, else the distribution name alone).
    """

    framework: str  # the SDK image table's framework ("sklearn", "xgboost")
    version: str  # the SDK image table's version
    python: tuple[int, int]
    packages: Mapping[str, str] = field(default_factory=dict, hash=False)
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError(f"image {self.framework} {self.version}: name the public source of its package list")

    @property
    def repository(self) -> str:
        return {"sklearn": "sagemaker-scikit-learn", "xgboost": "sagemaker-xgboost"}[self.framework]

    def provides(self, module: str) -> bool:
        return module.split(".", 1)[0] in self.packages


SKLEARN = Image(
    framework="sklearn",
    version="1.4-2-py312",
    python=(3, 12),
    packages={
        "numpy": "numpy==2.1.0",
        "pyarrow": "pyarrow==17.0.0",
        "sklearn": "scikit-learn==1.4.2",
        "scipy": "scipy",
        "boto3": "boto3",
        "botocore": "botocore",
    },
    source=SKLEARN_SOURCE,
)
XGBOOST = Image(
    framework="xgboost",
    version="1.7-1",
    python=(3, 8),
    packages={
        "xgboost": "xgboost==1.7.4",
        "numpy": "numpy",
        "pyarrow": "pyarrow==14.0.1",
        "scipy": "scipy",
        "pandas": "pandas",
        "sklearn": "scikit-learn",
        "boto3": "boto3",
        "botocore": "botocore",
    },
    source=XGBOOST_SOURCE,
)
IMAGES: tuple[Image, ...] = (SKLEARN, XGBOOST)

IMAGE_LOOKUP_INSTANCE_TYPE = "ml.m5.xlarge"  # image URIs differ by processor (cpu/gpu), not by size


def image_for_uri(uri: str) -> Image:
    """The image an ECR URI resolved from ``IMAGES`` names (by repository and tag)."""
    repository, _, tag = uri.rpartition("/")[2].partition(":")
    for image in IMAGES:
        if repository == image.repository and tag.startswith(image.version):
            return image
    raise LookupError(f"'{uri}' is not one of the pinned images {[f'{i.repository}:{i.version}' for i in IMAGES]}")

"""Every pipeline step runs on an image that already has what it imports, and no step can reach a package index.

The bundle is the real one (``mlops_constructs/training_pipeline.py``'s includes and the spec.json the construct
adds), the steps, images and modules are read from the rendered definition, and the images' packages are the
pinned lists in ``pipeline_defs/images.py``. The drift workflow's jobs get the same checks in
``tests/infra/test_monitoring_stack.py`` (they live in the synthesized state machine).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import DEV, ENVIRONMENTS, FRAUD_DETECTION, Environment, ModelSpec
from mlops_constructs.code_bundle import ROOT, bundle_files
from mlops_constructs.training_pipeline import BUNDLE_INCLUDES
from pipeline_defs import definition as d
from pipeline_defs.images import IMAGES, SKLEARN, XGBOOST, image_for_uri
from pipeline_defs.runtime_checks import import_problems, package_index_problems, read_bundle
from tests.support.specs import CHURN
from tests.unit.pipeline_definition.conftest import built, steps_by_name

# Imports made only inside functions that a step never calls, with the reason it never calls them.
CONDITIONAL = {"duckdb": "the Dataset step's local engine: the definition passes --engine athena"}


def bundle(spec: ModelSpec = FRAUD_DETECTION) -> dict[str, bytes]:
    return read_bundle(bundle_files(BUNDLE_INCLUDES), root=ROOT, extra_files={"spec.json": d.spec_json(spec)})


def processing_steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: step["Arguments"] for name, step in steps_by_name(document).items() if step["Type"] == "Processing"}


def module_run_by(arguments: dict[str, Any]) -> str:
    entrypoint = arguments["AppSpecification"]["ContainerEntrypoint"]
    return str(entrypoint[entrypoint.index("-m") + 1])


@pytest.mark.parametrize(("spec", "env"), [(FRAUD_DETECTION, e) for e in ENVIRONMENTS] + [(CHURN, DEV)])
def test_every_steps_imports_are_in_its_bundle_its_image_or_the_standard_library(
    spec: ModelSpec, env: Environment
) -> None:
    steps = processing_steps(json.loads(built(spec, env)))
    code = bundle(spec)

    images = {name: image_for_uri(arguments["AppSpecification"]["ImageUri"]) for name, arguments in steps.items()}
    problems = {
        name: import_problems(module_run_by(arguments), bundle=code, image=images[name], conditional=CONDITIONAL)
        for name, arguments in steps.items()
    }

    assert problems == {name: [] for name in steps}
    assert images == {"Dataset": SKLEARN, "Preprocess": SKLEARN, "Score": XGBOOST, "Evaluate": SKLEARN,
                      "Baseline": SKLEARN, "Decide": SKLEARN}  # fmt: skip
    # What CONDITIONAL says holds: the Dataset step runs the Athena engine, which never imports DuckDB.
    arguments = steps["Dataset"]["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--engine") + 1] == "athena"


@pytest.mark.parametrize(("spec", "env"), [(FRAUD_DETECTION, e) for e in ENVIRONMENTS] + [(CHURN, DEV)])
def test_no_step_can_reach_a_package_index(spec: ModelSpec, env: Environment) -> None:
    steps = processing_steps(json.loads(built(spec, env)))

    problems = {name: package_index_problems(arguments, code_dir=d.CODE_DIR) for name, arguments in steps.items()}

    assert problems == {name: [] for name in steps}


# ---- the checks find what they are for ----


def test_the_import_check_reports_a_package_the_image_lacks() -> None:
    # The score step needs xgboost: the scikit-learn image has none.
    assert import_problems("pipeline_defs.scripts.score", bundle=bundle(), image=SKLEARN) == [
        "pipeline_defs/scripts/score.py:35: imports 'xgboost' at import: not in the bundle, the standard library or "
        f"the sklearn 1.4-2-py312 image ({sorted(SKLEARN.packages)})"
    ]


def test_the_import_check_follows_imports_through_the_bundle_and_reports_a_local_engine_at_import() -> None:
    code = bundle()
    code["pipeline_defs/scripts/common.py"] += b"\nimport duckdb\n"  # every step imports common.py
    line = code["pipeline_defs/scripts/common.py"].count(b"\n")

    problems = import_problems("pipeline_defs.scripts.condition", bundle=code, image=SKLEARN, conditional=CONDITIONAL)

    assert problems == [
        f"pipeline_defs/scripts/common.py:{line}: imports 'duckdb' at import: not in the bundle, the standard "
        f"library or the sklearn 1.4-2-py312 image ({sorted(SKLEARN.packages)})"
    ]


def test_the_import_check_reports_a_function_import_nobody_vouched_for() -> None:
    problems = import_problems("pipeline_defs.scripts.dataset", bundle=bundle(), image=SKLEARN)

    assert len(problems) == 1
    assert "imports 'duckdb' in a function" in problems[0]


def test_the_import_check_reports_code_newer_than_the_images_python() -> None:
    code = bundle()
    code["pipeline_defs/scripts/base.py"] += b"\nmatch 1:\n    case _:\n        pass\n"  # Python 3.10 syntax

    (problem,) = import_problems("pipeline_defs.scripts.score", bundle=code, image=XGBOOST)

    assert problem.startswith("pipeline_defs/scripts/base.py:")
    assert "not Python 3.8" in problem


def test_the_import_check_reports_a_module_missing_from_the_bundle() -> None:
    code = bundle()
    del code["lambdas/shared/features.py"]

    problems = import_problems("pipeline_defs.scripts.preprocess", bundle=code, image=SKLEARN)

    assert any("'lambdas.shared.features' is not in the bundle" in p for p in problems), problems


def test_optional_and_type_checking_imports_are_not_requirements() -> None:
    code = {
        "job/__init__.py": b"",
        "job/run.py": (
            b"from typing import TYPE_CHECKING\n"
            b"try:\n    import orjson\nexcept ImportError:\n    orjson = None\n"
            b"if TYPE_CHECKING:\n    import duckdb\n"
        ),
    }

    assert import_problems("job.run", bundle=code, image=SKLEARN) == []


# The entrypoint this project ran before (it installed the scripts' requirements from PyPI at job start).
OLD_ENTRYPOINT = [
    "/bin/bash",
    "-c",
    "set -e;cd /opt/ml/processing/input/code;"
    'python3 -m pip install -q -r pipeline_defs/scripts/requirements.txt;exec "$@"',
    "install",
    "python3",
    "-m",
    "pipeline_defs.scripts.dataset",
]


@pytest.mark.parametrize(
    ("app", "environment", "message"),
    [
        ({"ContainerEntrypoint": OLD_ENTRYPOINT}, {}, "may reach a package index (no --no-index)"),
        ({"ContainerEntrypoint": ["pip", "install", "xgboost==1.7.6"]}, {}, "may reach a package index"),
        ({"ContainerEntrypoint": ["sh", "-c", "uv pip install pyarrow"]}, {}, "may reach a package index"),
        (
            {"ContainerArguments": ["--index-url", "https://pypi.org/simple"]},
            {},
            "names a package index",
        ),
        ({"ContainerEntrypoint": ["python3", "-m", "x"]}, {"PIP_INDEX_URL": "https://mirror/simple"}, "points pip"),
        (
            {"ContainerEntrypoint": ["sh", "-c", "pip install --no-index --find-links /tmp/w xgboost"]},
            {},
            "does not take its wheels from the unpacked bundle",
        ),
        (
            {
                "ContainerEntrypoint": [
                    "sh",
                    "-c",
                    "pip install --no-index --find-links /opt/ml/processing/code/w /opt/ml/processing/code/w/x.whl",
                ]
            },
            {},
            "installs x.whl, which the bundle does not ship",
        ),
    ],
)
def test_the_index_check_reports_an_install_that_could_reach_an_index(
    app: dict[str, Any], environment: dict[str, str], message: str
) -> None:
    problems = package_index_problems({"AppSpecification": app, "Environment": environment}, code_dir=d.CODE_DIR)

    assert any(message in p for p in problems), problems


def test_an_offline_install_of_a_shipped_wheel_passes_the_index_check() -> None:
    wheel = "/opt/ml/processing/code/wheels/x-1.0-py3-none-any.whl"
    request = {
        "AppSpecification": {
            "ContainerEntrypoint": ["sh", "-c", f"pip install --no-index --find-links {d.CODE_DIR}/wheels {wheel}"]
        }
    }
    shipped = frozenset({"x-1.0-py3-none-any.whl"})

    assert package_index_problems(request, code_dir=d.CODE_DIR, shipped_wheels=shipped) == []


def test_every_pinned_image_names_its_python_and_its_public_source() -> None:
    for image in IMAGES:
        assert image.python >= (3, 8)
        assert "github.com/aws/" in image.source
        assert image.provides("numpy")
    assert XGBOOST.packages["xgboost"].startswith("xgboost==1.7.")  # the line the built-in algorithm trains with

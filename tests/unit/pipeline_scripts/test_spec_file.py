"""spec.json: the spec the step scripts read carries each categorical feature's categories from the config spec."""

from __future__ import annotations

import json

import pytest

from config import FRAUD_DETECTION, ModelSpec
from pipeline_defs.scripts.common import StepInputError
from pipeline_defs.scripts.spec import StepSpec, step_spec_from_model_spec
from tests.support.specs import CHURN


@pytest.mark.parametrize("spec", [FRAUD_DETECTION, CHURN], ids=lambda s: s.name)
def test_the_spec_file_carries_the_config_specs_categories(spec: ModelSpec) -> None:
    written = step_spec_from_model_spec(spec).to_json()

    read = StepSpec.from_dict(json.loads(written))

    assert read.category_vocabularies == spec.category_vocabularies
    assert read.feature_names == spec.feature_names


def test_only_categorical_features_carry_categories_in_the_file() -> None:
    features = json.loads(step_spec_from_model_spec(FRAUD_DETECTION).to_json())["features"]
    assert [f["name"] for f in features if "categories" in f] == ["merchant_category"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": []}, "feature 'plan' has no 'categories'"),
        ({"categories": "basic"}, "feature 'plan': 'categories' must be a list of non-empty strings"),
        ({"type": "Integral"}, "feature 'plan' is not a String but has 'categories'"),
    ],
)
def test_a_spec_file_with_bad_categories_is_refused_naming_the_feature(change: dict[str, object], message: str) -> None:
    data = json.loads(step_spec_from_model_spec(CHURN).to_json())
    plan = next(f for f in data["features"] if f["name"] == "plan")
    plan.update(change)

    with pytest.raises(StepInputError, match=f"^spec: {message}"):
        StepSpec.from_dict(data)

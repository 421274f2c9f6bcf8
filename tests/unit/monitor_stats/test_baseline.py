"""Reading a Model Monitor baseline, and refusing one that cannot be used, naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor_stats.baseline import load_baseline, parse_baseline
from monitor_stats.errors import BaselineError
from monitor_stats.schema import validate_constraints, validate_statistics
from monitor_stats.suggest import suggest_baseline
from monitoring_job.synthetic import config_features, fraud_features, generate

FEATURES = fraud_features()


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    return suggest_baseline(generate(FEATURES, 5000, seed=1), config_features(FEATURES))


def test_a_suggested_baseline_follows_the_model_monitor_schemas(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    statistics, constraints = documents

    assert validate_statistics(statistics) == []
    assert validate_constraints(constraints) == []
    amount = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]
    assert len(amount["buckets"]) == 10
    assert sum(len(level) for level in amount["sketch"]["data"]) <= 2048


def test_numeric_baseline_has_a_fine_grid_that_refines_the_buckets(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    baseline = parse_baseline(*documents)
    amount = baseline.numeric["amount"]

    assert set(amount.bucket_edges.tolist()) <= set(amount.grid.tolist())
    assert amount.grid.size > 50  # buckets plus sketch percentiles
    assert amount.grid_probs.sum() == pytest.approx(1.0)
    # The amount is log-normal: most of it sits in the first equal-width bucket, the percentiles split it up.
    assert amount.bucket_probs[1] > 0.5
    assert amount.grid_probs.max() < 0.1


def test_sketch_levels_weigh_two_to_the_level() -> None:
    statistics = {
        "version": 0.0,
        "dataset": {"item_count": 3},
        "features": [
            {
                "name": "x",
                "inferred_type": "Fractional",
                "numerical_statistics": {
                    "common": {"num_present": 5, "num_missing": 0},
                    "distribution": {
                        "kll": {
                            "buckets": [{"lower_bound": 0.0, "upper_bound": 10.0, "count": 5.0}],
                            "sketch": {"parameters": {"c": 0.64, "k": 2048}, "data": [[1.0], [9.0, 9.5]]},
                        }
                    },
                },
            }
        ],
    }
    baseline = parse_baseline(statistics, {"version": 0.0, "features": []})
    x = baseline.numeric["x"]

    cdf = np.cumsum(x.grid_probs)
    below_five = cdf[np.searchsorted(x.grid, 5.0, side="left")]
    assert below_five == pytest.approx(1 / 5)  # weight 1 below 5, weight 2 + 2 above


def test_monitoring_config_and_constraints_are_read(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    baseline = parse_baseline(*documents)

    assert baseline.monitoring.comparison_method == "Robust"
    assert baseline.constraints["amount"].is_non_negative is True
    assert baseline.domain_of("merchant_category") == frozenset(baseline.categorical["merchant_category"].counts)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda s, c: s.pop("features"), "statistics.json: features"),
        (lambda s, c: s["features"][0].pop("numerical_statistics"), "numerical_statistics"),
        (lambda s, c: s["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"].reverse(), "sorted"),
        (lambda s, c: c["monitoring_config"].update(evaluate_constraints="Yes"), "evaluate_constraints"),
        (lambda s, c: c["features"][1]["string_constraints"].update(domains="grocery"), "domains"),
    ],
)
def test_a_malformed_baseline_is_refused_naming_the_field(
    documents: tuple[dict[str, Any], dict[str, Any]], mutate: Any, named: str
) -> None:
    statistics, constraints = json.loads(json.dumps(documents[0])), json.loads(json.dumps(documents[1]))
    mutate(statistics, constraints)

    with pytest.raises(BaselineError, match=named):
        parse_baseline(statistics, constraints)


def test_missing_or_non_json_baseline_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"statistics\.json.*cannot be read"):
        load_baseline(tmp_path)
    (tmp_path / "statistics.json").write_text("{}", encoding="utf-8")
    (tmp_path / "constraints.json").write_text("[oops", encoding="utf-8")
    with pytest.raises(BaselineError, match=r"constraints\.json.*not valid JSON"):
        load_baseline(tmp_path)

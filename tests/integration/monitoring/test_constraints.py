"""Constraint checks beyond drift: completeness, types, sign, unseen categories, config vs baseline columns."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from monitoring_job.synthetic import (
    Rng,
    Scenario,
    SyntheticFeature,
    Values,
    build_scenario,
    capture_lines,
    fraud_features,
    generate,
    write_capture,
)

from .conftest import run

FEATURES = fraud_features()


def _violations(output: Path) -> list[tuple[str, str]]:
    document = json.loads((output / "constraint_violations.json").read_text(encoding="utf-8"))
    return [(v["feature_name"], v["constraint_check_type"]) for v in document["violations"]]


def _with(name: str, **changes: object) -> list[SyntheticFeature]:
    return [dataclasses.replace(f, **changes) if f.name == name else f for f in FEATURES]  # type: ignore[arg-type]


def _recapture(scenario: Scenario, features: list[SyntheticFeature], rows: int, seed: int) -> None:
    """Replace the window's capture files with data drawn from ``features``."""
    for path in scenario.capture.rglob("*.jsonl"):
        path.unlink()
    write_capture(scenario.capture, capture_lines(features, generate(features, rows, seed)), files=2)


def test_same_missing_rate_passes_and_a_higher_one_is_a_completeness_violation(tmp_path: Path) -> None:
    features = _with("spend_7d", missing_rate=0.02)
    scenario = build_scenario(tmp_path, features, rows=10_000, seed=41)

    status, _ = run(scenario, tmp_path / "same")
    _recapture(scenario, _with("spend_7d", missing_rate=0.06), rows=10_000, seed=42)
    _, report = run(scenario, tmp_path / "more")

    assert status == 0
    assert _violations(tmp_path / "more") == [("spend_7d", "completeness_check")]
    spend = next(f for f in report["features"] if f["name"] == "spend_7d")
    assert 0.93 < spend["completeness"] < 0.95


def _fractional_hours(rng: Rng, n: int) -> Values:
    return np.round(rng.uniform(0, 23, size=n), 1)


def _negative_amounts(rng: Rng, n: int) -> Values:
    return np.round(rng.lognormal(3.5, 1.0, size=n), 2) * np.where(rng.random(n) < 0.01, -1, 1)


def _new_categories(rng: Rng, n: int) -> Values:
    values = ["grocery", "restaurant", "travel", "online", "fuel", "crypto", "gambling"]
    picks = rng.choice(len(values), size=n, p=[0.2, 0.15, 0.1, 0.15, 0.15, 0.15, 0.1])
    return [values[i] for i in picks.tolist()]


def test_type_sign_and_domain_constraints(tmp_path: Path) -> None:
    scenario = build_scenario(tmp_path, FEATURES, rows=5_000, seed=43)
    broken = [
        dataclasses.replace(
            f,
            normal={
                "hour_of_day": _fractional_hours,
                "amount": _negative_amounts,
                "merchant_category": _new_categories,
            }[f.name],
        )
        if f.name in {"hour_of_day", "amount", "merchant_category"}
        else f
        for f in FEATURES
    ]
    _recapture(scenario, broken, rows=5_000, seed=44)

    _, report = run(scenario, tmp_path / "out")

    found = _violations(tmp_path / "out")
    assert ("hour_of_day", "data_type_check") in found  # Integral feature with fractional values
    assert ("amount", "data_type_check") in found  # negative values; the baseline says is_non_negative
    assert ("merchant_category", "categorical_values_check") in found
    category = next(f for f in report["features"] if f["name"] == "merchant_category")
    assert [v for v, _ in category["new_values"]] == ["crypto", "gambling"]


def test_columns_missing_from_config_or_baseline_are_reported(tmp_path: Path) -> None:
    scenario = build_scenario(tmp_path, FEATURES, rows=1_000, seed=45)
    config = json.loads(scenario.config.read_text(encoding="utf-8"))
    config["features"][1]["type"] = "Fractional"  # merchant_category declared numeric: a type mismatch
    scenario.config.write_text(json.dumps(config), encoding="utf-8")
    statistics = json.loads((scenario.baseline / "statistics.json").read_text(encoding="utf-8"))
    statistics["features"] = [f for f in statistics["features"] if f["name"] != "count_30d"]
    statistics["features"].append({**statistics["features"][0], "name": "legacy_score"})
    (scenario.baseline / "statistics.json").write_text(json.dumps(statistics), encoding="utf-8")

    run(scenario, tmp_path / "out")

    found = _violations(tmp_path / "out")
    assert ("legacy_score", "missing_column_check") in found
    assert ("count_30d", "extra_column_check") in found
    assert ("merchant_category", "data_type_check") in found

"""Structural checks of Model Monitor files, so tests (and the job, on its own output) can prove conformance.

The rules are the documented schemas (Developer Guide "Schema for Statistics", "Schema for Constraints",
"Schema for Violations"; docs/aws-facts.md#baseline-and-report-files). Each function returns a list of problems,
empty when the document conforms. ``sketch`` is optional in statistics (the built-in container and the baseline
writer write one; the drift job's window statistics do not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FEATURE_TYPES = frozenset({"Integral", "Fractional", "String", "Unknown"})
CHECK_TYPES = frozenset(
    {
        "data_type_check",
        "completeness_check",
        "baseline_drift_check",
        "missing_column_check",
        "extra_column_check",
        "categorical_values_check",
    }
)
ENABLED = frozenset({"Enabled", "Disabled"})


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def obj(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}: expected an object")
            return {}
        return value

    def seq(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.problems.append(f"{where}: expected a list")
            return []
        return value

    def number(self, obj: Mapping[str, Any], key: str, where: str, *, minimum: float | None = None) -> None:
        value = obj.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.problems.append(f"{where}.{key}: expected a number, got {value!r}")
        elif minimum is not None and value < minimum:
            self.problems.append(f"{where}.{key}: {value} is below {minimum}")

    def string(self, obj: Mapping[str, Any], key: str, where: str, allowed: frozenset[str] | None = None) -> None:
        value = obj.get(key)
        if not isinstance(value, str):
            self.problems.append(f"{where}.{key}: expected a string, got {value!r}")
        elif allowed is not None and value not in allowed:
            self.problems.append(f"{where}.{key}: {value!r} is not one of {sorted(allowed)}")


def validate_statistics(document: object) -> list[str]:
    check = _Checker()
    root = check.obj(document, "statistics")
    check.number(root, "version", "statistics")
    check.number(check.obj(root.get("dataset"), "dataset"), "item_count", "dataset", minimum=0)
    for i, raw in enumerate(check.seq(root.get("features"), "features")):
        where = f"features[{i}]"
        feature = check.obj(raw, where)
        check.string(feature, "name", where)
        check.string(feature, "inferred_type", where, FEATURE_TYPES)
        if feature.get("inferred_type") == "String":
            _string_statistics(check, feature.get("string_statistics"), f"{where}.string_statistics")
        elif feature.get("inferred_type") in ("Integral", "Fractional"):
            _numerical_statistics(check, feature.get("numerical_statistics"), f"{where}.numerical_statistics")
    return check.problems


def _common(check: _Checker, raw: object, where: str) -> None:
    common = check.obj(raw, where)
    check.number(common, "num_present", where, minimum=0)
    check.number(common, "num_missing", where, minimum=0)


def _numerical_statistics(check: _Checker, raw: object, where: str) -> None:
    stats = check.obj(raw, where)
    _common(check, stats.get("common"), f"{where}.common")
    for key in ("mean", "sum", "std_dev", "min", "max"):
        check.number(stats, key, where)
    kll = check.obj(check.obj(stats.get("distribution"), f"{where}.distribution").get("kll"), f"{where}.kll")
    for j, bucket in enumerate(check.seq(kll.get("buckets"), f"{where}.kll.buckets")):
        item = check.obj(bucket, f"{where}.kll.buckets[{j}]")
        for key in ("lower_bound", "upper_bound"):
            check.number(item, key, f"{where}.kll.buckets[{j}]")
        check.number(item, "count", f"{where}.kll.buckets[{j}]", minimum=0)
        low, high = item.get("lower_bound"), item.get("upper_bound")
        if isinstance(low, int | float) and isinstance(high, int | float) and high < low:
            check.problems.append(f"{where}.kll.buckets[{j}]: upper_bound below lower_bound")
    if "sketch" in kll:
        sketch = check.obj(kll["sketch"], f"{where}.kll.sketch")
        check.obj(sketch.get("parameters"), f"{where}.kll.sketch.parameters")
        for level in check.seq(sketch.get("data"), f"{where}.kll.sketch.data"):
            check.seq(level, f"{where}.kll.sketch.data[]")


def _string_statistics(check: _Checker, raw: object, where: str) -> None:
    stats = check.obj(raw, where)
    _common(check, stats.get("common"), f"{where}.common")
    check.number(stats, "distinct_count", where, minimum=0)
    distribution = check.obj(stats.get("distribution"), f"{where}.distribution")
    categorical = check.obj(distribution.get("categorical"), f"{where}.distribution.categorical")
    for j, bucket in enumerate(check.seq(categorical.get("buckets"), f"{where}.categorical.buckets")):
        item = check.obj(bucket, f"{where}.categorical.buckets[{j}]")
        check.string(item, "value", f"{where}.categorical.buckets[{j}]")
        check.number(item, "count", f"{where}.categorical.buckets[{j}]", minimum=0)


def validate_violations(document: object) -> list[str]:
    check = _Checker()
    root = check.obj(document, "constraint_violations")
    for i, raw in enumerate(check.seq(root.get("violations"), "violations")):
        where = f"violations[{i}]"
        violation = check.obj(raw, where)
        check.string(violation, "feature_name", where)
        check.string(violation, "constraint_check_type", where, CHECK_TYPES)
        check.string(violation, "description", where)
    return check.problems


def validate_constraints(document: object) -> list[str]:
    check = _Checker()
    root = check.obj(document, "constraints")
    check.number(root, "version", "constraints")
    for i, raw in enumerate(check.seq(root.get("features"), "features")):
        where = f"features[{i}]"
        feature = check.obj(raw, where)
        check.string(feature, "name", where)
        check.string(feature, "inferred_type", where, FEATURE_TYPES)
        if "completeness" in feature:
            check.number(feature, "completeness", where, minimum=0)
        if "string_constraints" in feature:
            domains = check.obj(feature["string_constraints"], f"{where}.string_constraints").get("domains")
            if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
                check.problems.append(f"{where}.string_constraints.domains: expected a list of strings")
    config = check.obj(root.get("monitoring_config", {}), "monitoring_config")
    for key in ("evaluate_constraints", "emit_metrics"):
        if key in config:
            check.string(config, key, "monitoring_config", ENABLED)
    distribution = check.obj(config.get("distribution_constraints", {}), "distribution_constraints")
    if "comparison_method" in distribution:
        check.string(distribution, "comparison_method", "distribution_constraints", frozenset({"Simple", "Robust"}))
    return check.problems

"""Scale-out: shard statistics merged equal one pass over all the data, across instances and processes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from monitoring_job import job
from monitoring_job.cli import EXIT_FAILED, EXIT_VIOLATIONS, main
from monitoring_job.synthetic import Scenario, build_scenario, fraud_features

FEATURES = fraud_features()


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    drifted = frozenset({"merchant_category", "count_1d"})
    return build_scenario(tmp_path / "data", FEATURES, rows=6_000, seed=31, drifted=drifted, files=6)


def _split_by_file(scenario: Scenario, root: Path, shards: int) -> list[Path]:
    """Copy the capture files into ``shards`` folders, as ShardedByS3Key gives each instance a subset."""
    folders = [root / f"instance-{k}" for k in range(shards)]
    for i, path in enumerate(sorted(scenario.capture.rglob("*.jsonl"))):
        target = folders[i % shards] / path.relative_to(scenario.capture)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return folders


def _statistics(output: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((output / "statistics.json").read_text(encoding="utf-8"))
    return document


def _assert_same_statistics(merged: dict[str, Any], single: dict[str, Any]) -> None:
    assert merged["dataset"] == single["dataset"]
    for mine, theirs in zip(merged["features"], single["features"], strict=True):
        if "numerical_statistics" in mine:
            a, b = mine["numerical_statistics"], theirs["numerical_statistics"]
            assert a["common"] == b["common"]
            assert a["distribution"] == b["distribution"]  # bucket counts are integers: exactly equal
            for key in ("mean", "sum", "std_dev", "min", "max"):
                assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12)
        else:
            assert mine == theirs


def test_merged_shards_equal_single_pass_statistics_and_verdicts(scenario: Scenario, tmp_path: Path) -> None:
    single = tmp_path / "single"
    assert main(scenario.cli_args(single)) == EXIT_VIOLATIONS
    shard_root = tmp_path / "shards"
    for k, folder in enumerate(_split_by_file(scenario, tmp_path / "split", 3)):
        instance = Scenario(folder, scenario.baseline, scenario.config)
        assert main([*instance.cli_args(shard_root), "--shard-output-only", "--shard-id", f"algo-{k + 1}"]) == 0

    merged = tmp_path / "merged"
    status = main(
        [
            "merge",
            "--shards",
            str(shard_root),
            "--baseline",
            str(scenario.baseline),
            "--config",
            str(scenario.config),
            "--output",
            str(merged),
            "--no-publish",
        ]
    )

    assert status == EXIT_VIOLATIONS
    assert sorted(p.name for p in (shard_root / "shards").iterdir()) == ["algo-1", "algo-2", "algo-3"]
    _assert_same_statistics(_statistics(merged), _statistics(single))
    verdicts = [json.loads((d / "constraint_violations.json").read_text()) for d in (merged, single)]
    assert verdicts[0] == verdicts[1]


def test_reader_processes_give_the_statistics_of_one_process(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_file = sorted(scenario.capture.rglob("*.jsonl"))[4]
    with capture_file.open("a", encoding="utf-8") as handle:
        handle.write("garbage line\n")
    monkeypatch.setattr(job, "MIN_BYTES_PER_WORKER", 1)
    assert len(job.plan_workers(sorted(scenario.capture.rglob("*.jsonl")), 3)) == 3

    main(scenario.cli_args(tmp_path / "one", "--workers", "1"))
    main(scenario.cli_args(tmp_path / "three", "--workers", "3"))

    _assert_same_statistics(_statistics(tmp_path / "three"), _statistics(tmp_path / "one"))
    quarantined = [(tmp_path / d / "quarantine").iterdir() for d in ("one", "three")]
    assert [sorted(p.name for p in q) for q in quarantined] == [["invalid_json.jsonl"]] * 2


def test_merge_refuses_a_shard_computed_against_another_baseline(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard_root = tmp_path / "shards"
    main([*scenario.cli_args(shard_root), "--shard-output-only", "--shard-id", "algo-1"])
    other = build_scenario(tmp_path / "other", FEATURES, rows=100, seed=99)

    status = main(
        [
            "merge",
            "--shards",
            str(shard_root),
            "--baseline",
            str(other.baseline),
            "--config",
            str(scenario.config),
            "--output",
            str(tmp_path / "merged"),
        ]
    )

    assert status == EXIT_FAILED
    assert "computed against a different baseline" in capsys.readouterr().err


def test_merge_without_shards_fails_clearly(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "none").mkdir()

    status = main(
        [
            "merge",
            "--shards",
            str(tmp_path / "none"),
            "--baseline",
            str(scenario.baseline),
            "--config",
            str(scenario.config),
            "--output",
            str(tmp_path / "merged"),
        ]
    )

    assert status == EXIT_FAILED
    assert "no shard_stats.json found" in capsys.readouterr().err

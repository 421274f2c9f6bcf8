"""The local drift run's own inputs: the --drift requests and clear errors for what it cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config import FRAUD_DETECTION
from tools import drift_local
from tools.drift_local import DriftLocalError, Shift, shift_inputs

CATEGORY = FRAUD_DETECTION.feature_names.index("merchant_category")
AMOUNT = FRAUD_DETECTION.feature_names.index("amount")
ONLINE = FRAUD_DETECTION.category_vocabularies["merchant_category"].index("online")


def inputs(rows: int = 1000) -> np.ndarray:
    matrix = np.ones((rows, len(FRAUD_DETECTION.feature_names)))
    matrix[:, CATEGORY] = 0.0  # grocery
    return matrix


def test_a_numeric_shift_multiplies_and_a_categorical_shift_moves_rows_to_the_category() -> None:
    moved = shift_inputs(
        inputs(),
        [Shift("amount", "2.5"), Shift("merchant_category", "online")],
        FRAUD_DETECTION,
        np.random.default_rng(0),
    )

    assert set(moved[:, AMOUNT].tolist()) == {2.5}
    share = float(np.mean(moved[:, CATEGORY] == ONLINE))
    assert share == pytest.approx(drift_local.CATEGORY_SHARE, abs=0.05)
    assert set(moved[:, CATEGORY].tolist()) <= {0.0, float(ONLINE)}


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (Shift("amountt", "2"), "'amountt' is not a feature of fraud-detection"),
        (Shift("merchant_category", "casino"), "'casino' is not a merchant_category"),
        (Shift("amount", "double"), "amount: 'double' is not a number"),
    ],
)
def test_an_unusable_shift_is_named(shift: Shift, message: str) -> None:
    with pytest.raises(DriftLocalError, match=message):
        shift_inputs(inputs(10), [shift], FRAUD_DETECTION, np.random.default_rng(0))


def test_a_malformed_drift_option_is_refused() -> None:
    with pytest.raises(DriftLocalError, match="expected NAME=FACTOR or NAME=LABEL"):
        Shift.parse("amount")


def test_without_a_pipeline_run_it_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = drift_local.main(["--run", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")])

    assert status == 1
    assert "run `make pipeline-local` first" in capsys.readouterr().err

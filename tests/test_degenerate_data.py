"""Degenerate training data: refused when it carries no information, warned about, never overflowing.

* fewer than 2 training rows, or no spread in any column the model uses:
  InputDataError (exit 3) saying the explanation would carry no information;
* a training column with no observed value: an EmptyColumnWarning (CLI: ``Warning:``);
* values near 1e308: sampled in scaled units, so the model only ever sees
  finite numbers and the explanation is finite and finds the driver.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from limecli import TabularExplainer, explain_tabular
from limecli.errors import InputDataError
from limecli.sampling.columns import EmptyColumnWarning
from limecli.sampling.tabular import TabularSampler

NO_INFORMATION = "the explanation would carry no information"

SCRIPT = """\
import numpy as np


def predict(batch):
    x = np.asarray(batch, dtype=float)
    if not np.isfinite(x).all():
        raise ValueError("non-finite input")
    p = 1 / (1 + np.exp(-3 * x[:, 0] / {unit!r}))
    return np.column_stack([1 - p, p])
"""


def _script(folder: Path, unit: float = 1.0) -> str:
    path = folder / "predict_first.py"
    path.write_text(SCRIPT.format(unit=unit))
    return f"{path}:predict"


def _first_column_model(unit: float = 1.0) -> Any:
    seen: list[np.ndarray] = []

    def predict(batch: Any) -> np.ndarray:
        x = np.asarray(batch, dtype=float)
        seen.append(x)
        assert np.isfinite(x).all(), "the model was given a non-finite value"
        p = 1 / (1 + np.exp(-3 * x[:, 0] / unit))
        return np.column_stack([1 - p, p])

    predict.seen = seen  # type: ignore[attr-defined]
    return predict


def test_one_training_row_is_refused() -> None:
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(InputDataError, match=rf"has 1 row\(s\).*{NO_INFORMATION}"):
        TabularExplainer(_first_column_model(), frame)


def test_data_of_one_row_without_training_data_exits_3(run_cli, tmp_path: Path) -> None:
    """DATA with one row and no training data: every weight would be 0 with R² 1."""
    (tmp_path / "one.csv").write_text("a,b\n1.5,2\n")
    result = run_cli("tabular", _script(tmp_path), tmp_path / "one.csv", "--row", "0")
    assert result.exit_code == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and NO_INFORMATION in errors[0] and "1 row(s)" in errors[0]


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_no_spread_in_any_column_is_refused(discretizer: str | None) -> None:
    frame = pd.DataFrame({"a": [1.0] * 6, "b": [0.5] * 6, "s": ["x"] * 6})
    with pytest.raises(
        InputDataError, match=rf"single value in the 6 training rows.*{NO_INFORMATION}"
    ):
        TabularExplainer(_first_column_model(), frame, discretizer=discretizer)


def test_one_column_with_spread_is_enough() -> None:
    """Constant columns beside one that varies, or missing beside present, are fine."""
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5] * 4})
    explanation = explain_tabular(_first_column_model(), frame, 0, seed=0, num_samples=300)
    assert explanation.labels[0].features[0].feature == "a"
    gappy = pd.DataFrame({"a": [1.0, np.nan, 1.0, np.nan], "b": [0.5] * 4})
    TabularSampler(gappy)  # missing beside present is spread


def test_constant_training_data_through_the_cli_exits_3(run_cli, tmp_path: Path) -> None:
    (tmp_path / "flat.csv").write_text("a,b\n1,2\n1,2\n1,2\n")
    result = run_cli("tabular", _script(tmp_path), tmp_path / "flat.csv", "--row", "0")
    assert result.exit_code == 3, result.stderr
    assert NO_INFORMATION in result.stderr.splitlines()[-1]


def test_a_column_without_values_is_warned_about() -> None:
    frame = pd.DataFrame({"a": np.linspace(-2, 2, 50), "empty": np.nan, "note": None})
    with pytest.warns(EmptyColumnWarning, match="no values .*: empty, note"):
        TabularSampler(frame)


def test_a_column_without_values_is_a_cli_warning(run_cli, tmp_path: Path) -> None:
    rows = "".join(f"{v},,{v % 3}\n" for v in range(-10, 10))
    (tmp_path / "data.csv").write_text("a,gone,c\n" + rows)
    (tmp_path / "nan_ok.py").write_text(
        "import numpy as np\n"
        "def predict(batch):\n"
        "    x = np.asarray(batch, dtype=float)\n"
        "    p = 1 / (1 + np.exp(-x[:, 0]))\n"
        "    return np.column_stack([1 - p, p])\n"
    )
    model = f"{tmp_path / 'nan_ok.py'}:predict"
    result = run_cli("tabular", model, tmp_path / "data.csv", "--row", "3", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warned == [
        "Warning: training column(s) with no values (every cell missing): gone; they are "
        "sampled as missing only and explain nothing about their values"
    ]
    doc = json.loads(result.stdout)
    assert doc["labels"][0]["features"][0]["feature"] == "a"


# -- values near the largest float ----------------------------------------------------


def _huge(n: int = 400, unit: float = 1e307) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n) * unit,
            "b": rng.uniform(-1.7, 1.7, n) * 1e308,  # up to 1.7e308, near the float maximum
            "c": rng.normal(size=n),
        }
    )


@pytest.mark.parametrize(
    ("discretizer", "around"), [("quartile", False), ("decile", False), (None, False), (None, True)]
)
def test_values_near_the_float_maximum_give_a_finite_explanation(discretizer, around) -> None:
    frame = _huge()
    model = _first_column_model(unit=1e307)
    explanation = explain_tabular(
        model,
        frame,
        3,
        discretizer=discretizer,
        sample_around_instance=around,
        seed=0,
        num_samples=2000,
    )
    label = explanation.labels[0]
    top = label.features[0]
    assert top.feature == "a" and abs(top.weight) > 0.05
    assert np.isfinite([f.weight for f in label.features]).all()
    # The same explanation as for the data in ordinary units (the model reads a / 1e307).
    ordinary = frame.assign(a=frame["a"] / 1e307, b=frame["b"] / 1e308)
    expected = explain_tabular(
        _first_column_model(),
        ordinary,
        3,
        discretizer=discretizer,
        sample_around_instance=around,
        seed=0,
        num_samples=2000,
    ).labels[0]
    assert [f.feature for f in label.features] == [f.feature for f in expected.features]
    np.testing.assert_allclose(
        [f.weight for f in label.features], [f.weight for f in expected.features], atol=1e-6
    )
    assert np.isfinite([label.score, label.intercept, label.local_prediction]).all()
    assert top.value == frame["a"].iloc[3]  # the row's own value, in its own units
    if discretizer is not None:
        assert "e+30" in top.name  # thresholds written short, in the data's units
    pool = max(model.seen, key=len)
    assert np.isfinite(pool).all() and np.abs(pool[:, 1]).max() > 1e307


def test_huge_values_through_the_cli(run_cli, tmp_path: Path) -> None:
    _huge().to_csv(tmp_path / "huge.csv", index=False)
    model = _script(tmp_path, unit=1e307)
    result = run_cli("tabular", model, tmp_path / "huge.csv", "--row", "3", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    top = json.loads(result.stdout)["labels"][0]["features"][0]
    assert top["feature"] == "a"


def test_scaled_sampling_keeps_ordinary_columns_bit_for_bit() -> None:
    """A huge column beside ordinary ones leaves their statistics and draws as they were."""
    rng = np.random.default_rng(3)
    ordinary = pd.DataFrame(rng.normal(size=(200, 2)), columns=["p", "q"])
    with_huge = ordinary.assign(h=rng.normal(size=200) * 1e306)
    for discretizer in ("quartile", None):
        alone = TabularSampler(ordinary, discretizer=discretizer)
        beside = TabularSampler(with_huge, discretizer=discretizer)
        np.testing.assert_array_equal(beside.means[:2], alone.means)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning either
            pool = beside.draw(1000, np.random.default_rng(1))
            values = beside.model_numeric(pool.numeric)
        assert np.isfinite(values).all()
        assert beside.scales[2] != 1.0 and list(beside.scales[:2]) == [1.0, 1.0]

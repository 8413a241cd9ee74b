"""Honest uncertainty: intervals that hold against fresh seeds, settled ranks, flat outputs.

Ground truth comes from planted models: which columns drive the output is
known, and fresh draws of the samples show how far a weight really moves.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limecli import FlatOutputWarning, TabularExplainer, TextExplainer
from limecli.surrogate import fit_surrogate
from limecli.uncertainty import (
    Z95,
    bonferroni_quantile,
    is_flat,
    sandwich_std_errors,
    settled_top,
)

DRIVERS = ["d0", "d1", "d2", "d3"]
NOISE = [f"n{i}" for i in range(20)]
COEF = np.array([3.0, -2.5, 2.0, 1.5])


def planted_frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(rows, 24)), columns=DRIVERS + NOISE)


def planted_model(batch: object) -> np.ndarray:
    """A regression model reading the four drivers only."""
    x = np.asarray(batch, dtype=float)
    return x[:, :4] @ COEF


def planted_row() -> pd.Series:
    # Every driver in its top quartile: each driver's bin is clearly above the others.
    row = planted_frame().iloc[0].copy()
    row[DRIVERS] = [1.6, 1.6, 1.6, 1.6]
    return row


PLANTED_SCRIPT = """
import numpy as np

COEF = np.array([3.0, -2.5, 2.0, 1.5])


def predict(batch):
    return np.asarray(batch, dtype=float)[:, :4] @ COEF


def constant(batch):
    return np.tile([0.25, 0.75], (len(batch), 1))
"""


@pytest.fixture
def planted_files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "planted.py").write_text(PLANTED_SCRIPT)
    planted_frame().to_csv(tmp_path / "train.csv", index=False)
    planted_row().to_frame().T.to_csv(tmp_path / "row.csv", index=False)
    return {
        "script": tmp_path / "planted.py",
        "train": tmp_path / "train.csv",
        "row": tmp_path / "row.csv",
    }


# -- flat outputs ----------------------------------------------------------------------------
def test_a_model_that_ignores_its_input_is_flat_not_perfect() -> None:
    explainer = TabularExplainer(
        lambda x: np.tile([0.25, 0.75], (len(x), 1)), planted_frame(), mode="classification"
    )
    with pytest.warns(FlatOutputWarning, match="does not change over the 5000 perturbed samples"):
        exp = explainer.explain(planted_row(), seed=0)
    label = exp.labels[0]
    assert label.flat and label.features == []
    assert label.score is None and label.held_out_score is None and label.stability is None
    assert exp.to_dict()["labels"][0]["flat"] is True


def test_flat_output_in_json_and_a_warning_on_stderr(run_cli, planted_files) -> None:
    result = run_cli(
        "tabular",
        f"{planted_files['script']}:constant",
        planted_files["row"],
        "--row",
        "0",
        "--train",
        planted_files["train"],
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    label = json.loads(result.stdout)["labels"][0]
    assert label["flat"] is True and label["score"] is None and label["features"] == []
    assert label["stability"] is None
    assert "Warning: the model's output for '1' does not change" in result.stderr


def test_training_data_without_spread_is_flat_or_refused() -> None:
    from limecli.errors import InputDataError

    # One row: every sample would equal it; refused before any sampling.
    with pytest.raises(InputDataError, match="1 row"):
        TabularExplainer(planted_model, planted_frame().iloc[[0]], mode="regression")
    # The columns the model reads never vary in training: no sample moves the output.
    same = planted_frame()
    same[DRIVERS] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the training data's own warnings are not the point
        explainer = TabularExplainer(planted_model, same, mode="regression")
        exp = explainer.explain(same.iloc[0], seed=0)
    assert exp.labels[0].flat and exp.labels[0].score is None and exp.labels[0].features == []


def test_flat_tolerance_is_relative_to_the_output_size() -> None:
    assert is_flat(np.full(100, 0.5))
    assert is_flat(1e6 + np.linspace(0, 0.1, 100))  # 1e-7 of the size: rounding
    assert not is_flat(np.linspace(0.5, 0.5001, 100))  # 1e-4 of a probability: a real change
    assert is_flat(np.array([np.nan, np.nan]))


# -- settled ranks ---------------------------------------------------------------------------
def test_four_strong_drivers_among_noise_settle_four_ranks() -> None:
    explainer = TabularExplainer(planted_model, planted_frame(), mode="regression")
    exp = explainer.explain(planted_row(), seed=0, num_samples=5000, num_features=10)
    label = exp.labels[0]
    assert [f.feature for f in label.features[:4]] == ["d0", "d1", "d2", "d3"]
    assert label.stability is not None
    assert label.stability["settled_top"] == 4
    same = label.stability["top_m_same"]
    assert len(same) == 10 and min(same[:4]) >= 0.95 and max(same[4:]) < 0.95
    # The drivers' weights are far from zero; most noise weights are not.
    assert all(f.extra["distinguishable_from_zero"] for f in label.features[:4])
    noise_marked = [f.extra["distinguishable_from_zero"] for f in label.features[4:]]
    assert noise_marked.count(False) >= 4


def test_settled_top_is_the_last_settled_prefix_set() -> None:
    assert settled_top(np.array([1.0, 1.0, 0.5, 0.2])) == 2
    # Ranks 1 and 2 tie (their order swaps) but the top-2 set is settled.
    assert settled_top(np.array([0.5, 1.0, 0.3])) == 2
    assert settled_top(np.array([0.9, 0.4])) == 0


# -- num_features="auto" ---------------------------------------------------------------------
def test_auto_num_features_keeps_the_drivers_and_not_the_noise() -> None:
    explainer = TabularExplainer(planted_model, planted_frame(), mode="regression")
    for seed in range(5):
        exp = explainer.explain(planted_row(), seed=seed, num_samples=5000, num_features="auto")
        assert sorted(f.feature for f in exp.labels[0].features) == DRIVERS
        assert exp.params["num_features"] == "auto"
        assert exp.params["num_features_auto"]["cap"] == 10


def test_auto_num_features_on_the_command_line(run_cli, planted_files) -> None:
    result = run_cli(
        "tabular",
        f"{planted_files['script']}:predict",
        planted_files["row"],
        "--row",
        "0",
        "--train",
        planted_files["train"],
        "--mode",
        "regression",
        "--num-features",
        "auto",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert sorted(f["feature"] for f in doc["labels"][0]["features"]) == DRIVERS
    assert doc["params"]["num_features"] == "auto"


def test_auto_num_features_on_text_keeps_the_words_the_model_reads() -> None:
    def model(texts: list[str]) -> np.ndarray:
        p = np.array(
            [0.1 + 0.6 * ("great" in t.split()) + 0.2 * ("fine" in t.split()) for t in texts]
        )
        return np.column_stack([1 - p, p])

    text = "the film was great and the cast was fine but the plot was thin and the end was slow"
    exp = TextExplainer(model).explain(text, seed=0, num_samples=2000, num_features="auto")
    assert sorted(f.feature for f in exp.labels[0].features) == ["fine", "great"]


@pytest.mark.parametrize("bad", [0, -3, "all", 2.5])
def test_num_features_must_be_a_positive_int_or_auto(bad: object) -> None:
    from limecli.errors import ParameterError

    explainer = TabularExplainer(planted_model, planted_frame(), mode="regression")
    with pytest.raises(
        ParameterError, match="'num_features' parameter must be an int >= 1 or 'auto'"
    ):
        explainer.explain(planted_row(), num_features=bad)  # type: ignore[arg-type]


# -- calibration of the intervals ------------------------------------------------------------
def _draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One LIME-like draw: binary features, a kernel on the distance, a non-linear model."""
    data = (rng.random((n, 5)) < 0.3).astype(float)
    data[0] = 1.0
    distance = np.sqrt(((1.0 - data) ** 2).sum(axis=1))
    weights = np.sqrt(np.exp(-(distance**2) / 1.5**2))
    # Non-linear (an interaction and a threshold) with noise: a linear surrogate is misspecified.
    target = (
        np.tanh(2 * data[:, 0] - data[:, 1] + 1.5 * data[:, 0] * data[:, 2])
        + (data[:, 3] > 0) * 0.3
        + rng.normal(0, 0.2, n)
    )
    return data, target, weights


def test_sandwich_errors_match_the_spread_over_fresh_draws() -> None:
    rng = np.random.default_rng(7)
    fits, errors = [], []
    for _ in range(300):
        data, target, weights = _draw(rng, 800)
        fit = fit_surrogate(data, target, weights, 5, "none")
        order = np.argsort(fit.features)
        fits.append(fit.weights[order])
        errors.append(sandwich_std_errors(data, target, weights, fit, 1.0)[order])
    spread = np.std(fits, axis=0, ddof=1)
    reported = np.sqrt(np.mean(np.square(errors), axis=0))
    # 300 draws pin a standard deviation to about +-4%.
    np.testing.assert_allclose(reported / spread, 1.0, atol=0.12)
    # Coverage of the mean weight by the reported 95% intervals.
    mean = np.mean(fits, axis=0)
    covered = np.abs(np.asarray(fits) - mean) <= Z95 * np.asarray(errors)
    assert 0.92 <= covered.mean() <= 0.975
    # Feature 4 is never read: its interval excludes 0 about 5% of the time, not more.
    excludes = np.abs(np.asarray(fits)[:, 4]) > Z95 * np.asarray(errors)[:, 4]
    assert excludes.mean() <= 0.08


def test_bonferroni_bar_grows_with_the_candidates() -> None:
    assert bonferroni_quantile(1) == pytest.approx(Z95)
    assert bonferroni_quantile(24) == pytest.approx(3.0775, abs=1e-3)


def test_noise_chosen_among_many_is_not_marked_real() -> None:
    # The 6 noise columns kept are the most extreme of 20: their own 95% intervals exclude
    # 0 far more than 5% of the time, so the mark uses the bar for 24 candidates.
    explainer = TabularExplainer(planted_model, planted_frame(), mode="regression")
    marked = 0
    for seed in range(10):
        label = explainer.explain(planted_row(), seed=seed, num_samples=5000).labels[0]
        assert label.stability is not None and label.stability["candidates"] == 24
        assert label.stability["zero_bar"] == pytest.approx(bonferroni_quantile(24))
        noise = [f for f in label.features if f.feature in NOISE]
        assert len(noise) == 6
        marked += any(f.extra["distinguishable_from_zero"] for f in noise)
        assert all(f.extra["distinguishable_from_zero"] for f in label.features[:4])
    assert marked <= 2  # family-wise 5%: 0.5 of 10 expected


def test_the_set_of_every_candidate_settles_nothing() -> None:
    # Eight features, all kept: the top-8 set is the same in every replicate by definition.
    assert settled_top(np.array([1.0, 1.0, 1.0, 0.4, 0.3, 0.2, 0.5, 1.0]), candidates=8) == 3
    assert settled_top(np.array([1.0, 1.0, 1.0]), candidates=10) == 3


def test_a_flat_batch_keeps_every_input_in_csv_and_resumes(
    run_cli, planted_files, tmp_path
) -> None:
    out = tmp_path / "flat.csv"
    args = [
        "tabular",
        f"{planted_files['script']}:constant",
        planted_files["train"],
        "--rows",
        "0:3",
        "--train",
        planted_files["train"],
        "--num-samples",
        "200",
        "--format",
        "csv",
        "-q",
    ]
    first = run_cli(*args, "-o", out)
    assert first.exit_code == 0, first.stderr
    rows = out.read_text().splitlines()[1:]
    assert [r.split(",")[2] for r in rows] == ["0", "1", "2"]
    assert all("(flat output: nothing to explain)" in r for r in rows)
    again = run_cli(*args[:-1], "-o", out, "--resume")
    assert again.exit_code == 0, again.stderr
    # CSV cannot tell whether the last input's rows are complete: it is redone, not doubled.
    assert "2 input(s) already there are skipped" in again.stderr
    assert out.read_text().splitlines()[1:] == rows

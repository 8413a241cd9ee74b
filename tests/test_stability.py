"""Stability under resampling, held-out fidelity and --num-samples auto."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS

from limecli.stability import BLOCKS, BlockMoments, assess
from limecli.surrogate import WeightedGram, fit_surrogate


def planted(n: int, seed: int, noise: float = 0.02) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 2, size=(n, 10)).astype(float)
    data[0] = 1.0
    target = 0.6 * data[:, 1] - 0.4 * data[:, 4] + rng.normal(0, noise, n)
    return data, target, rng.random(n)


def test_moments_of_all_blocks_give_the_direct_gram() -> None:
    data, target, weights = planted(1000, 0)
    direct = WeightedGram(data, target, weights)
    summed = BlockMoments.of(data, target, weights).gram(np.ones(BLOCKS))
    np.testing.assert_allclose(summed.gram, direct.gram, atol=1e-9)
    np.testing.assert_allclose(summed.xy, direct.xy, atol=1e-9)
    assert summed.yy == pytest.approx(direct.yy)


def test_clear_drivers_are_stable_with_tight_intervals() -> None:
    data, target, weights = planted(5000, 1)
    fit = fit_surrogate(data, target, weights, 2, "auto")
    check = assess(data, target, weights, fit, 2, "auto")
    assert check is not None
    assert sorted(fit.features.tolist()) == [1, 4]
    assert check.top_k_change_probability == 0.0 and check.top_k_mean_jaccard == 1.0
    for (low, high), w in zip(check.ci95, fit.weights, strict=True):
        assert low <= w <= high and high - low < 0.05
    assert check.held_out_score is not None and check.held_out_score > 0.95


def test_a_near_tie_is_reported_as_unstable() -> None:
    rng = np.random.default_rng(2)
    data = rng.integers(0, 2, size=(2000, 6)).astype(float)
    data[0] = 1.0
    # Features 0 and 1 matter equally: which one a single-feature fit keeps is a coin toss.
    target = 0.3 * data[:, 0] + 0.3 * data[:, 1] + rng.normal(0, 0.3, 2000)
    fit = fit_surrogate(data, target, np.ones(2000), 1, "forward")
    check = assess(data, target, np.ones(2000), fit, 1, "forward")
    assert check is not None and check.top_k_change_probability > 0.1


def test_held_out_score_exposes_a_fit_to_noise() -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 2, size=(400, 30)).astype(float)
    target = rng.normal(size=400)  # nothing to explain
    fit = fit_surrogate(data, target, np.ones(400), 30, "none")
    check = assess(data, target, np.ones(400), fit, 30, "none")
    assert check is not None and check.held_out_score is not None
    assert fit.score > 0.0 and check.held_out_score < fit.score


def test_explanations_carry_stability_in_json_and_on_screen(run_cli) -> None:
    args = [
        "tabular",
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "--row",
        12,
        "--num-samples",
        1000,
        "--num-features",
        4,
        "-q",
    ]
    doc = json.loads(run_cli(*args, "--format", "json").stdout)
    label = doc["labels"][0]
    assert label["stability"]["replicates"] == 20
    assert 0.0 <= label["stability"]["top_k_change_probability"] <= 1.0
    assert isinstance(label["held_out_score"], float)
    for feature in label["features"]:
        low, high = feature["ci95"]
        assert low <= feature["weight"] <= high
    table = run_cli(*args, "--format", "table").stdout
    assert "resamples" in table and "held-out R²" in table and "95% interval" in table


def test_auto_on_the_cli(run_cli) -> None:
    base = [
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "-q",
    ]
    doc = json.loads(run_cli("tabular", *base, "--row", 12, "--num-samples", "auto").stdout)
    assert doc["params"]["num_samples"] >= 5000 and "num_samples_auto" in doc["params"]
    bad = run_cli("tabular", *base, "--row", 12, "--num-samples", "many")
    assert bad.exit_code == 2 and "neither an integer nor 'auto'" in bad.stderr
    batch = run_cli("tabular", *base, "--rows", "0:2", "--num-samples", "auto", "--format", "jsonl")
    assert batch.exit_code == 0
    assert len(batch.stdout.splitlines()) == 2


def test_cli_default_is_auto_and_a_fixed_size_still_works(run_cli) -> None:
    base = [
        "tabular",
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "--row",
        12,
        "-q",
        "--format",
        "json",
    ]
    doc = json.loads(run_cli(*base).stdout)
    assert doc["params"]["num_samples"] in (5000, 10000)
    assert doc["params"]["num_samples_auto"]["max"] == 10000
    fixed = json.loads(run_cli(*base, "--num-samples", 5000).stdout)
    assert fixed["params"]["num_samples"] == 5000 and "num_samples_auto" not in fixed["params"]

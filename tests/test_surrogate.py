"""The kernel and the weighted ridge surrogate, against closed forms and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from limecli.surrogate import (
    cosine_distances_to_first,
    exponential_kernel,
    fit_surrogate,
    select_features,
)


def test_exponential_kernel_closed_form() -> None:
    d = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(exponential_kernel(d, 2.0), np.sqrt(np.exp(-(d**2) / 4.0)))


def test_cosine_distance_to_first() -> None:
    data = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0, 0, 0]])
    dist = cosine_distances_to_first(data)
    np.testing.assert_allclose(dist[:4], [0.0, 0.0, 1.0, 1 - 1 / np.sqrt(2)], atol=1e-12)
    assert dist[4] == 1.0  # an all-zero row shares nothing with the original


def test_ridge_matches_scikit_learn_with_sample_weights() -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2, size=(500, 6)).astype(float)
    target = data @ np.array([0.5, -0.3, 0.0, 0.2, 0.0, 0.1]) + rng.normal(0, 0.05, 500)
    weights = rng.random(500)
    fit = fit_surrogate(data, target, weights, num_features=6, feature_selection="none")
    ref = Ridge(alpha=1.0).fit(data, target, sample_weight=weights)
    coef = np.zeros(6)
    coef[fit.features] = fit.weights
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-10)
    assert fit.intercept == pytest.approx(ref.intercept_, abs=1e-10)
    assert fit.score == pytest.approx(ref.score(data, target, sample_weight=weights), abs=1e-10)
    assert fit.local_prediction == pytest.approx(ref.predict(data[:1])[0], abs=1e-10)
    # Ranked by absolute weight.
    assert list(np.abs(fit.weights)) == sorted(np.abs(fit.weights), reverse=True)


@pytest.mark.parametrize("method", ["forward", "highest_weights", "lasso_path", "auto"])
def test_feature_selection_finds_the_planted_features(method: str) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(0, 2, size=(2000, 12)).astype(float)
    data[0] = 1.0  # the instance: every feature present
    target = 0.8 * data[:, 2] - 0.6 * data[:, 7] + 0.4 * data[:, 9] + rng.normal(0, 0.02, 2000)
    weights = np.ones(2000)
    chosen = select_features(data, target, weights, 3, method)
    assert sorted(chosen.tolist()) == [2, 7, 9]


def test_forward_selection_score_matches_an_unpenalised_fit() -> None:
    rng = np.random.default_rng(2)
    data = rng.normal(size=(300, 5))
    target = 2 * data[:, 1] + rng.normal(0, 0.1, 300)
    fit = fit_surrogate(data, target, np.ones(300), num_features=1, feature_selection="forward")
    assert fit.features.tolist() == [1]
    assert fit.score > 0.99


def test_constant_target_gives_zero_weights() -> None:
    data = np.random.default_rng(3).integers(0, 2, size=(100, 4)).astype(float)
    fit = fit_surrogate(data, np.full(100, 0.7), np.ones(100), 2, "highest_weights")
    np.testing.assert_allclose(fit.weights, 0.0, atol=1e-12)
    assert fit.local_prediction == pytest.approx(0.7)


def test_batched_forward_selection_matches_a_refit_per_candidate() -> None:
    """The Gram-matrix shortcut picks what refitting on all samples for each candidate picks."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(7)
    data = rng.integers(0, 2, size=(800, 9)).astype(float)
    target = data @ rng.normal(size=9) + rng.normal(0, 0.3, 800)
    weights = rng.random(800)
    chosen: list[int] = []
    for _ in range(4):
        scores = {}
        for j in range(9):
            if j in chosen:
                continue
            cols = [*chosen, j]
            model = LinearRegression().fit(data[:, cols], target, sample_weight=weights)
            scores[j] = model.score(data[:, cols], target, sample_weight=weights)
        chosen.append(max(scores, key=lambda j: (scores[j], -j)))
    fast = select_features(data, target, weights, 4, "forward")
    assert fast.tolist() == sorted(chosen)

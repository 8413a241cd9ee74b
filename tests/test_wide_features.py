"""Wide inputs (limecli.explainers.wide): the same explanation as the narrow path, at a fraction of the cost.

Above WIDE_FEATURES the own fit comes from one Gram matrix of all features and the
stability replicates' ridges from conjugate gradients; these tests compare both against the
narrow path (limecli.stability.fit_and_assess on all 20 x d x d block moments) on the
same samples.
"""

from __future__ import annotations

import numpy as np
import pytest

from limecli.explainers.wide import WIDE_FEATURES, WideFeatures, fit_and_assess_wide, use_wide
from limecli.stability import FeatureMoments, fit_and_assess
from limecli.surrogate import exponential_kernel, usable_weights


def samples(d: int, n: int, seed: int, strong: int = 12) -> tuple[np.ndarray, ...]:
    """LIME-like tabular samples: binary interpretable rows (row 0 all ones), a kernel,
    and a logistic model of ``strong`` features plus many weak ones."""
    rng = np.random.default_rng(seed)
    data = (rng.random((n, d)) < 0.75).astype(float)
    data[0] = 1.0
    coef = rng.normal(scale=0.05, size=d)
    coef[:strong] = np.linspace(1.2, 0.3, strong) * rng.choice([-1, 1], strong)
    target = 1 / (1 + np.exp(-(data - 0.75) @ coef))
    distances = np.sqrt(((data - data[0]) ** 2).sum(axis=1)) / np.sqrt(d)
    weights = usable_weights(exponential_kernel(distances, 0.75))
    return data, target, weights


def both(data, target, weights, num_features, method):
    narrow = fit_and_assess(
        data, target, weights, num_features, method, features=FeatureMoments(data, weights)
    )
    wide = fit_and_assess_wide(
        data, target, weights, num_features, method, WideFeatures(data, weights)
    )
    return narrow, wide


def assert_same_explanation(fit, wfit):
    """The same features in the same order; the same weights, intercept, score and local
    prediction up to rounding (the same sums in another order)."""
    np.testing.assert_array_equal(wfit.features, fit.features)
    np.testing.assert_allclose(wfit.weights, fit.weights, rtol=1e-9, atol=1e-12)
    for name in ("intercept", "score", "local_prediction"):
        assert getattr(wfit, name) == pytest.approx(getattr(fit, name), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("seed", "num_features", "method"),
    [(0, 10, "auto"), (1, 10, "highest_weights"), (2, "auto", "auto"), (3, 5, "forward")],
)
def test_settled_wide_explanations_match_the_narrow_path(seed, num_features, method):
    """Twelve strong features: every replicate selects the same, and then the wide path's
    whole assessment is the narrow one's (the intervals are the sandwich part alone)."""
    data, target, weights = samples(300, 3000, seed)
    assert use_wide(data.shape, num_features, method)
    (fit, check), (wfit, wcheck) = both(data, target, weights, num_features, method)
    assert_same_explanation(fit, wfit)
    assert check is not None and wcheck is not None
    assert wcheck.candidates == check.candidates == 300
    assert wcheck.held_out_score == pytest.approx(check.held_out_score, rel=1e-9, abs=1e-12)
    assert wcheck.top_k_change_probability == check.top_k_change_probability
    np.testing.assert_array_equal(wcheck.top_m_same, check.top_m_same)
    np.testing.assert_allclose(wcheck.std_error, check.std_error, rtol=1e-9)


@pytest.mark.parametrize(
    ("n", "seed", "num_features"),
    [(1000, 0, 10), (1000, 1, 10), (1000, 5, 10), (3000, 0, "auto"), (3000, 2, 10)],
)
def test_unsettled_wide_explanations_match_the_narrow_path(n, seed, num_features):
    """Six strong features and ten kept: the last four change between replicates. The
    replicates' ridges on all 300 features (conjugate gradients) select what the narrow
    path's exact solves select, so every figure agrees up to rounding."""
    data, target, weights = samples(300, n, seed, strong=6)
    (fit, check), (wfit, wcheck) = both(data, target, weights, num_features, "auto")
    assert_same_explanation(fit, wfit)
    assert check is not None and wcheck is not None
    assert check.top_k_change_probability > 0  # the case exercises the selection term
    assert wcheck.top_k_change_probability == check.top_k_change_probability
    assert wcheck.top_k_mean_jaccard == pytest.approx(check.top_k_mean_jaccard, rel=1e-12)
    np.testing.assert_array_equal(wcheck.top_m_same, check.top_m_same)
    assert wcheck.settled_top == check.settled_top
    np.testing.assert_allclose(wcheck.std_error, check.std_error, rtol=1e-6)
    assert wcheck.held_out_score == pytest.approx(check.held_out_score, rel=1e-9, abs=1e-12)


def test_forward_selection_on_candidates_is_exact():
    """Forward selection's picks on the candidates are those on all features (here every
    replicate's picks are among them): the stability figures and intervals agree with the
    narrow path up to rounding, though the replicates' selections change (two strong
    features, four kept)."""
    data, target, weights = samples(300, 1000, 0, strong=2)
    (fit, check), (wfit, wcheck) = both(data, target, weights, 4, "forward")
    assert_same_explanation(fit, wfit)
    assert check is not None and wcheck is not None
    assert check.top_k_change_probability > 0
    assert wcheck.top_k_change_probability == check.top_k_change_probability
    np.testing.assert_array_equal(wcheck.top_m_same, check.top_m_same)
    np.testing.assert_allclose(wcheck.std_error, check.std_error, rtol=1e-9)


def test_narrow_inputs_keep_the_narrow_path():
    assert not use_wide((5000, WIDE_FEATURES), 10, "auto")
    assert use_wide((5000, WIDE_FEATURES + 1), 10, "auto")
    assert not use_wide((5000, 1000), 300, "auto")  # most features kept: no saving
    assert not use_wide((5000, 1000), 10, "lasso_path")
    assert not use_wide((50, 1000), 10, "auto")  # too few samples for the replicates

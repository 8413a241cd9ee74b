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
from limecli.explainers.wide_cg import _decided, _radau, replicate_picks
from limecli.stability import BLOCKS, FeatureMoments, fit_and_assess, replicate_counts
from limecli.surrogate import HIGHEST_WEIGHTS_ALPHA, exponential_kernel, usable_weights


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


def exact_replicate_ridges(data, target, weights, alpha):
    """(R, d): each replicate's weighted ridge on every feature, from its own Gram matrix
    (block b of the rows counted counts[r, b] times) and a direct solve."""
    n, d = data.shape
    out = []
    for row in replicate_counts():
        v = weights * row[np.arange(n) % BLOCKS]
        mean = v @ data / v.sum()
        centred = data - mean
        gram = centred.T @ (centred * v[:, None])
        xy = centred.T @ (v * (target - v @ target / v.sum()))
        out.append(np.linalg.solve(gram + alpha * np.eye(d), xy))
    return np.array(out)


@pytest.mark.parametrize(
    ("d", "n", "seed", "count"),
    [
        (300, 600, 0, 10),
        (300, 900, 1, 10),
        (400, 1000, 2, 10),
        (300, 3000, 3, 10),
        (300, 900, 4, 3),
    ],
)
def test_replicate_picks_are_the_exact_solves_top_sets(d, n, seed, count):
    """Down to 2 samples per feature (where 30 fixed iterations stopped short), every
    replicate's top set is the one of its exact ridge: the iteration stops only once the
    error bound leaves no other set possible. Six strong features, so the later picks are
    among many similar ones (small gaps); three kept, the boundary is wide."""
    data, target, weights = samples(d, n, seed, strong=6)
    exact = exact_replicate_ridges(data, target, weights, HIGHEST_WEIGHTS_ALPHA)
    order = np.argsort(-np.abs(exact * data[0]), axis=1, kind="stable")
    expected = np.sort(order[:, :count], axis=1)
    picks = replicate_picks(data, target, WideFeatures(data, weights), HIGHEST_WEIGHTS_ALPHA, count)
    np.testing.assert_array_equal(picks, expected)
    if count > 6:  # the boundary among the weak features: some replicate's gap is small
        size = np.sort(np.abs(exact * data[0]), axis=1)[:, ::-1]
        gap = (size[:, count - 1] - size[:, count]) / size[:, count - 1]
        assert gap.min() < 0.02


def test_a_set_is_decided_only_when_no_coefficient_within_the_bound_changes_it():
    """Closed form: top two of |coef x x0| are features 0 and 1 (sizes 5, 4), the next is
    3. Each coefficient may be off by scale_j * reach; the set is decided when
    4 - e1 > 3 + e2, i.e. when the bound is under 0.5 at unit scale."""
    coef = np.array([[5.0], [-4.0], [3.0], [1.0]])
    x0 = np.ones(4)
    scale = np.ones(4)
    assert _decided(coef, x0, scale, reach=np.array([0.49]), count=2).all()
    assert not _decided(coef, x0, scale, reach=np.array([0.51]), count=2).any()
    # scale widens each feature's margin: feature 2's alone is enough.
    assert not _decided(coef, x0, np.array([1.0, 1.0, 4.0, 1.0]), np.array([0.3]), 2).any()
    # x0 scales each feature's size and margin: features 2 and 3 at a tenth.
    coef = np.array([[5.0], [-4.0], [3.0], [0.5]])
    wide_bound = np.array([2.0])
    assert not _decided(coef, x0, scale, reach=wide_bound, count=2).any()
    tenth = np.array([1.0, 1.0, 0.1, 0.1])  # sizes 5, 4, 0.3, 0.05; margins 2, 2, 0.2, 0.2
    assert _decided(coef, tenth, scale, reach=wide_bound, count=2).all()


def test_the_gauss_radau_factor_bounds_the_error_and_beats_the_plain_bound():
    """Preconditioned CG on a random positive definite system: with the true smallest
    eigenvalue of the preconditioned matrix, g r'Mr is at least the squared A-norm of the
    error at every iteration, at most r'Mr / mu, and nearly the error once CG is under way."""
    rng = np.random.default_rng(0)
    d = 60
    half = rng.normal(size=(d, 3 * d))
    a = half @ half.T / (3 * d) + 0.05 * np.eye(d)
    m = np.linalg.inv(a + np.diag(rng.random(d)))  # an imperfect preconditioner
    b = rng.normal(size=d)
    exact = np.linalg.solve(a, b)
    mu = np.linalg.eigvals(m @ a).real.min()
    x = np.zeros(d)
    r = b.copy()
    z = m @ r
    p = z.copy()
    rz = r @ z
    steps, ratios = [], []
    for k in range(25):
        error = exact - x
        g = _radau(np.array(steps).reshape(k, 1), np.array(ratios).reshape(k, 1), np.array([mu]))
        assert error @ a @ error <= g[0] * rz * (1 + 1e-9)
        assert g[0] <= 1 / mu
        if k >= 15:  # tight (error over bound 0.89-0.97 here), the plain one is not
            assert error @ a @ error > 0.8 * g[0] * rz
            assert g[0] * mu < 0.65
        q = a @ p
        step = rz / (p @ q)
        x += step * p
        r -= step * q
        z = m @ r
        ratio = (r @ z) / rz
        p = z + ratio * p
        rz *= ratio
        steps.append(step)
        ratios.append(ratio)

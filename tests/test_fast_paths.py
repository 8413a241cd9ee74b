"""Each speed-up of the tabular path and of the surrogate, against the plain computation it replaces.

The fast paths are: bins drawn by comparisons, values from a tabulated
quantile function, no DataFrame for array models, in-place representation,
block moments by reshaping, forward selection by the sweep operator, every
bootstrap replicate selected in one batched pass, and the label-independent
moments shared across labels. Each test computes the slow way here and
checks the library's answer against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from scipy.stats import truncnorm
from sklearn.linear_model import LinearRegression

from limecli import TabularExplainer, load_model
from limecli.sampling.bin_table import BinTable
from limecli.sampling.discretize import (
    BinnedColumn,
    cumulative,
    draw_categories,
)
from limecli.sampling.tabular import TabularSampler
from limecli.stability import (
    BLOCKS,
    BlockMoments,
    FeatureMoments,
    assess,
    fit_and_assess,
    replicate_counts,
)
from limecli.surrogate import WeightedGram, fit_surrogate, select_features_stacked


def _searchsorted_reference(freqs: list[np.ndarray], u: np.ndarray) -> np.ndarray:
    """Inverse-CDF category draw, one column at a time."""
    out = np.empty(u.shape, dtype=int)
    for k, f in enumerate(freqs):
        cdf = np.cumsum(f / f.sum())
        cdf[-1] = 1.0
        out[:, k] = np.searchsorted(cdf, u[:, k], side="right")
    return out


@pytest.mark.parametrize("n_categories", [2, 4, 10, 16, 17, 60])
def test_category_draw_matches_a_search_per_column(n_categories: int) -> None:
    rng = np.random.default_rng(n_categories)
    freqs = [rng.random(int(rng.integers(1, n_categories + 1))) for _ in range(7)]
    freqs[2] = np.array([0.0, *rng.random(3)])  # a category never seen in training: never drawn
    u = rng.random((3000, 7))
    got = draw_categories(cumulative(freqs), u)
    np.testing.assert_array_equal(got, _searchsorted_reference(freqs, u))


def test_bin_values_match_the_exact_truncated_normal_quantiles() -> None:
    rng = np.random.default_rng(5)
    trainings = (rng.gamma(2.0, 3.0, 4000), rng.normal(size=4000), rng.lognormal(0, 1.5, 4000))
    columns = [BinnedColumn(np.percentile(t, [25, 50, 75]), t) for t in trainings]
    n = 100_000
    bins, values = BinTable(columns).draw(n, np.random.default_rng(7))
    # The same uniforms, the slow way: a bin per column, then scipy's quantile function.
    u = np.random.default_rng(7).random((n, len(columns)))
    for k, column in enumerate(columns):
        expected_bins = _searchsorted_reference([column.freqs], u[:, [k]])[:, 0]
        np.testing.assert_array_equal(bins[:, k], expected_bins)
        b = expected_bins
        lower = np.concatenate([[0.0], np.cumsum(column.freqs)[:-1]])
        within = (u[:, k] - lower[b]) / column.freqs[b]
        m, s, lo, hi = column.means[b], column.stds[b], column.mins[b], column.maxs[b]
        exact = truncnorm.ppf(within, (lo - m) / s, (hi - m) / s, loc=m, scale=s)
        assert np.all((values[:, k] >= lo) & (values[:, k] <= hi))
        # Interpolated between tabulated quantiles: within 0.5% of the bin's width.
        assert np.max(np.abs(values[:, k] - exact) / (hi - lo)) < 0.005


def _training() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv").drop(columns="diagnosis")


def test_array_models_get_the_same_numbers_as_through_a_dataframe() -> None:
    frame = _training()
    explainer = TabularExplainer(lambda b: np.asarray(b)[:, :1], frame)
    sampler = explainer.sampler
    pool = sampler.draw(500, np.random.default_rng(0))
    fast = explainer.pool_input(pool)
    slow = explainer.model_input(
        pd.DataFrame({c: pool.numeric[:, k] for k, c in enumerate(sampler.columns)})
    )
    np.testing.assert_array_equal(fast, slow)
    assert fast is not pool.numeric  # the model may change its input: not the pool's own
    np.testing.assert_array_equal(sampler.to_frame(pool).to_numpy(), pool.numeric)


def test_in_place_representation_equals_the_copying_one() -> None:
    frame = _training()
    sampler = TabularSampler(frame)
    instance = sampler.encode(frame.iloc[3])
    pool = sampler.draw(400, np.random.default_rng(1))
    copied_pool, copied = sampler.represent(pool, instance)
    kept = pool.numeric.copy()
    assert np.array_equal(pool.numeric, kept)  # the copying one left the pool alone
    own_pool, own = sampler.represent(pool, instance, in_place=True)
    np.testing.assert_array_equal(own, copied)
    np.testing.assert_array_equal(own_pool.numeric, copied_pool.numeric)
    np.testing.assert_array_equal(own_pool.bins, copied_pool.bins)


def _problem(
    n: int, d: int, seed: int, degenerate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 2, size=(n, d)).astype(float)
    data[0] = 1.0
    if degenerate:
        data[:, 1] = data[:, 0]  # exactly collinear
        data[:, 2] = 1.0  # constant
    target = data[:, :d] @ (rng.normal(size=d) * (rng.random(d) < 0.4)) + rng.normal(0, 0.2, n)
    return data, target, rng.random(n)


def _forward_by_refits(data: np.ndarray, target: np.ndarray, w: np.ndarray, k: int) -> list[int]:
    """Forward selection as the reference does it: one weighted least-squares fit per candidate."""
    chosen: list[int] = []
    for _ in range(k):
        scores = {}
        for j in range(data.shape[1]):
            if j not in chosen:
                cols = [*chosen, j]
                model = LinearRegression().fit(data[:, cols], target, sample_weight=w)
                scores[j] = round(model.score(data[:, cols], target, sample_weight=w), 10)
        chosen.append(max(scores, key=lambda j: (scores[j], -j)))
    return sorted(chosen)


@pytest.mark.parametrize("seed", range(6))
def test_sweep_forward_selection_matches_refits_per_candidate(seed: int) -> None:
    data, target, w = _problem(600, 9, seed)
    stack = WeightedGram(data, target, w).stack()
    fast = select_features_stacked(stack, data[0], 4, "forward")[0]
    assert fast.tolist() == _forward_by_refits(data, target, w, 4)


@pytest.mark.parametrize("method", ["forward", "highest_weights", "none"])
def test_batched_replicates_select_as_one_at_a_time(method: str) -> None:
    data, target, w = _problem(1000, 12, 11)
    moments = BlockMoments.of(data, target, w)
    counts = replicate_counts()
    stack = moments.grams(counts)
    together = select_features_stacked(stack, data[0], 4, method)
    for r, c in enumerate(counts):
        alone = select_features_stacked(moments.gram(c).stack(), data[0], 4, method)[0]
        assert together[r].tolist() == alone.tolist()
        np.testing.assert_allclose(
            stack.ridge(np.array([0, 3, 5]), 1.0)[r],
            moments.gram(c).solve(np.array([0, 3, 5]), 1.0),
            rtol=1e-10,
        )


@pytest.mark.parametrize("n", [1000, 1013])  # 1013: the last block is short
def test_block_moments_equal_sums_over_each_block(n: int) -> None:
    data, target, w = _problem(n, 6, 3)
    moments = BlockMoments.of(data, target, w)
    for b in range(BLOCKS):
        rows = np.arange(n) % BLOCKS == b
        x, y, wb = data[rows], target[rows] - moments.shift, w[rows]
        np.testing.assert_allclose(moments.sxx[b], x.T @ (x * wb[:, None]), rtol=1e-12)
        np.testing.assert_allclose(moments.sxy[b], (x * wb[:, None]).T @ y, rtol=1e-12)
        assert moments.sw[b] == pytest.approx(wb.sum(), rel=1e-12)
        assert moments.syy[b] == pytest.approx((wb * y) @ y, rel=1e-12)


@pytest.mark.parametrize("method", ["auto", "forward", "highest_weights", "lasso_path"])
def test_one_pass_fit_and_assessment_equal_the_separate_ones(method: str) -> None:
    data, target, w = _problem(2000, 10, 4, degenerate=False)
    fit, check = fit_and_assess(data, target, w, 4, method)
    slow_fit = fit_surrogate(data, target, w, 4, method)
    slow_check = assess(data, target, w, slow_fit, 4, method)
    assert fit.features.tolist() == slow_fit.features.tolist()
    np.testing.assert_allclose(fit.weights, slow_fit.weights, rtol=1e-9)
    assert fit.score == pytest.approx(slow_fit.score, rel=1e-9)
    assert fit.intercept == pytest.approx(slow_fit.intercept, rel=1e-9)
    assert check is not None and slow_check is not None
    assert check.top_k_change_probability == slow_check.top_k_change_probability
    np.testing.assert_allclose(check.ci95, slow_check.ci95, rtol=1e-9)
    shared = FeatureMoments(data, w)  # the half every label shares
    again, _ = fit_and_assess(data, target, w, 4, method, features=shared)
    np.testing.assert_array_equal(again.weights, fit.weights)


def test_multi_label_explanations_equal_one_label_at_a_time() -> None:
    model = load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    frame = pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv")
    row = pd.read_csv(SAMPLE_DATA / "breast_cancer_test.csv").iloc[12]
    explainer = TabularExplainer(model, frame, target="diagnosis", num_samples=1000)
    both = explainer.explain(row, seed=3, top_labels=2, num_features=5)
    for label in both.labels:
        alone = explainer.explain(row, seed=3, labels=[label.label], num_features=5).labels[0]
        assert alone.to_dict() == label.to_dict()


def test_a_large_mean_with_a_small_spread_keeps_its_precision() -> None:
    # A regression output around 1e6 that varies by 1e-3: raw moments of y itself
    # would lose the spread to rounding; the moments are taken of y less its mean.
    data, _, w = _problem(2000, 6, 8, degenerate=False)
    target = (
        1e6 + 1e-3 * (data[:, 0] - 2 * data[:, 3]) + 1e-6 * np.random.default_rng(0).random(2000)
    )
    fit, _ = fit_and_assess(data, target, w, 2, "forward")
    slow = fit_surrogate(data, target, w, 2, "forward")
    assert fit.features.tolist() == slow.features.tolist() == [3, 0]
    np.testing.assert_allclose(fit.weights, slow.weights, rtol=1e-6)
    assert fit.score == pytest.approx(slow.score, abs=1e-6) and fit.score > 0.99


@pytest.mark.parametrize("value", [0.0, 0.3, 1e6])
def test_a_flat_model_gets_zero_weights(value: float) -> None:
    data, _, w = _problem(1000, 5, 9, degenerate=False)
    fit, check = fit_and_assess(data, np.full(1000, value), w, 3, "auto")
    np.testing.assert_array_equal(fit.weights, 0.0)
    assert fit.intercept == pytest.approx(value) and fit.score == 1.0
    assert check is not None and check.held_out_score is None


def test_training_statistics_are_computed_once_and_never_changed_by_an_instance() -> None:
    model = load_model(SAMPLE_MODELS / "loans_pipeline.joblib")
    train = pd.read_csv(SAMPLE_DATA / "loans_train.csv")
    test = pd.read_csv(SAMPLE_DATA / "loans_test.csv")
    explainer = TabularExplainer(model, train, target="decision", num_samples=500)
    column = explainer.sampler.columns.index("employment")
    position = int(np.flatnonzero(explainer.sampler.categorical_idx == column)[0])
    before = explainer.sampler.categories[position].copy()
    odd = test.iloc[0].copy()
    odd["employment"] = "astronaut"  # a category the training data never showed
    exp = explainer.explain(odd, seed=1)
    described = {f.feature: f.value for f in exp.label().features}
    assert described.get("employment", "astronaut") == "astronaut"
    np.testing.assert_array_equal(explainer.sampler.categories[position], before)
    # The one explainer, reused, gives what a fresh one gives.
    again = explainer.explain(test.iloc[3], seed=2)
    fresh = TabularExplainer(model, train, target="decision", num_samples=500)
    assert again.to_json() == fresh.explain(test.iloc[3], seed=2).to_json()
    # In a batch, each row's own unseen value reaches the model.
    other = test.iloc[1].copy()
    other["employment"] = "pirate"
    many = explainer.explain_many([odd, other, test.iloc[2]], seed=4)
    assert [
        e.prediction == explainer.explain(r, seed=4).prediction
        for e, r in zip(many, [odd, other, test.iloc[2]], strict=True)
    ] == [True, True, True]


def test_bin_draws_do_not_depend_on_the_chunk_size(monkeypatch) -> None:
    from limecli.sampling import bin_table

    monkeypatch.setattr(bin_table, "_compiled", None)  # the numpy path: the one in chunks
    table = TabularSampler(_training()).bin_table
    assert table is not None
    whole = table.draw(3001, np.random.default_rng(9))
    monkeypatch.setattr(bin_table, "CHUNK_VALUES", 7 * table.n_columns)
    chunked = table.draw(3001, np.random.default_rng(9))
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])

"""Wide inputs: the stability replicates without 20 x d x d block moments.

Up to :data:`WIDE_FEATURES` interpretable features, :mod:`limecli.stability`
keeps per-block moments of every pair of features (20 x d x d) and solves
every replicate's d x d system: memory grows with d², time with d³. Above it,
for "highest_weights" and "forward" selection of fewer than a quarter of the
features:

* the explanation's own fit: for "forward", from one weighted Gram matrix of
  all the features (float64, built in row chunks); for "highest_weights", its
  top set is decided as the replicates' are (one more column counting every
  block once) and the fit reads the Gram matrix on those features only,
  computed exactly. Either way the same features, the same weights up to
  rounding (the same sums in another order);
* "highest_weights": each replicate's ridge on all d features is solved by
  preconditioned conjugate gradients (:mod:`limecli.explainers.wide_cg`; its
  Gram matrix applied from the samples in float32, block by block: a block's
  rows are read once for both products, a few at a time for BLAS's
  small-matrix kernels, and skipped by the replicates that leave it out,
  about a third (so too the float64 residual checks); the full one's
  Cholesky factor, float32, as preconditioner, applied as products with
  its inverse, a few rows at a time too) only until its top set is decided:
  unchanged for 3 iterations, and no coefficient within the bound
  ``|e_j| <= sqrt(M_jj / mu) ||e||_A`` of the current ones could change it
  (A the replicate's penalised Gram matrix, M the preconditioner, mu the
  preconditioned matrix's smallest eigenvalue as CG's Lanczos matrix
  estimates it, halved; ``||e||_A^2 <= g r'Mr`` CG's Gauss-Radau quadrature
  bound, g from CG's step lengths and mu, at most 1/mu; r the residual
  recomputed in float64). At 1,700 words (seeds 0-9, 210 replicates), at
  the decisions, the bound was 9-70x the actual error on the coefficient
  where it is tightest (median 52x); the plain ``sqrt(M_jj) sqrt(r'Mr) / mu``
  it replaced, 17-170x (median 90x), took 8% more iterations (8,359
  against 7,743 replicate-iterations) and 8 direct solves against 3.
  Decided replicates leave the iteration; nearly singular ones (about as few
  samples as features) and any undecided after 100 iterations are solved
  directly (measured: every top set the exact solve's; the estimate is not a
  guaranteed bound, it was within 1.45x of the true value at 300 features,
  1.03-1.31x at the decisions at 1,700 words (seeds 0-1, 40 replicates),
  so halved it was below it);
* "forward": the replicates select among candidates (the fit's features and
  the next best by a feature's own gain, at least :data:`MIN_CANDIDATES`),
  which picks exactly what all features would whenever every pick is among
  them (a step's gain depends only on the chosen features and the one tried);
* every other figure comes from per-block moments of the features some
  replicate or the fit selected (20 x k x k).

The report counts all d features as candidates, as the narrow path does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.linalg import lapack

from limecli.block_moments import BLOCKS, FeatureMoments
from limecli.explainers.wide_cg import replicate_picks
from limecli.stability import (
    Assessment,
    _assessment,
    replicate_counts,
)
from limecli.surrogate import (
    HIGHEST_WEIGHTS_ALPHA,
    SURROGATE_ALPHA,
    SurrogateFit,
    WeightedGram,
    fit_on_features,
    resolve_selection,
    select_features_stacked,
)
from limecli.uncertainty import AUTO_FEATURES_CAP, distinguishable, sandwich_std_errors

#: Above this many interpretable features the replicates work on candidates.
WIDE_FEATURES = 200
#: The replicates choose from at least this many features (or ten times the count kept).
MIN_CANDIDATES = 200
#: Rows per chunk are this many values over the feature count (16 MB of float64).
_CHUNK_VALUES = 2_000_000


def use_wide(shape: tuple[int, int], num_features: int | str, feature_selection: str) -> bool:
    """Whether an explanation of ``shape`` (samples, features) takes the wide path."""
    n, d = shape
    count = AUTO_FEATURES_CAP if num_features == "auto" else int(num_features)
    method = resolve_selection(feature_selection, min(count, d))
    return (
        d > WIDE_FEATURES
        and n >= 5 * BLOCKS
        and 4 * count < d
        and method in ("highest_weights", "forward")
    )


class WideFeatures:
    """The label-independent half of a wide explanation: the weighted, centred Gram matrix
    (float64 for "forward"; for "highest_weights" only a float32 one, to precondition)."""

    def __init__(self, data: np.ndarray, weights: np.ndarray) -> None:
        self.weights = weights
        self.total = float(weights.sum())
        self.x_mean = (weights @ data) / self.total
        self._data = data
        self._gram: np.ndarray | None = None
        self._single: np.ndarray | None = None
        #: Where each block's rows start in :meth:`single` (and end: BLOCKS + 1 values).
        self.bounds = np.concatenate(
            [[0], np.cumsum([len(range(b, len(data), BLOCKS)) for b in range(BLOCKS)])]
        )
        self._factors: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _weighted_gram(self, data: np.ndarray, weights: np.ndarray) -> np.ndarray:
        n, d = data.shape
        gram = np.zeros((d, d), dtype=data.dtype)
        step = max(1, _CHUNK_VALUES // max(d, 1))
        root, mean = np.sqrt(weights).astype(data.dtype), self.x_mean.astype(data.dtype)
        for start in range(0, n, step):
            # Scaled by √w on both sides, the product is one matrix by its own transpose,
            # which numpy hands to BLAS's symmetric rank-k update (half the work).
            scaled = (data[start : start + step] - mean) * root[start : start + step, None]
            gram += scaled.T @ scaled
        return gram

    @property
    def gram(self) -> np.ndarray:
        if self._gram is None:
            self._gram = self._weighted_gram(self._data, self.weights)
        return self._gram

    def factor(self, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The inverse of the lower Cholesky factor of the float32 Gram matrix + alpha I
        (float32, for the preconditioner's fast products), that factor in float64 (for
        its exact solves), and the square roots of the diagonal of the inverse of the
        matrix (for the bound of :func:`replicate_picks`); once per alpha."""
        if alpha not in self._factors:
            gram = self._weighted_gram(self.single(), self.in_blocks(self.weights))
            gram[np.diag_indices_from(gram)] += alpha
            # Symmetric: its transpose is the same matrix in LAPACK's column order.
            lower, info = lapack.spotrf(gram.T, lower=1, overwrite_a=1)
            if info:  # not positive definite in float32 (never seen): float64 instead
                lower = lapack.dpotrf(self.gram + alpha * np.eye(len(gram)), lower=1)[0]
            invert = lapack.strtri if lower.dtype == np.float32 else lapack.dtrtri
            exact = lower.astype(float)
            inverse = invert(lower, lower=1, overwrite_c=1)[0]  # in the factor's place
            scale = np.sqrt(np.einsum("ij,ij->j", inverse, inverse, dtype=float))
            self._factors[alpha] = (inverse, exact, scale)
        return self._factors[alpha]

    def single(self) -> np.ndarray:
        """The samples in float32 (exact for 0/1 features), for the fast products, block by
        block (:meth:`in_blocks`; :attr:`bounds` where each block's rows start)."""
        if self._single is None:
            self._single = np.empty(self._data.shape, dtype=np.float32)
            for b in range(BLOCKS):
                self._single[self.bounds[b] : self.bounds[b + 1]] = self._data[b::BLOCKS]
        return self._single

    def in_blocks(self, values: np.ndarray) -> np.ndarray:
        """Per-row ``values`` in :meth:`single`'s order: row i is in block i % BLOCKS, and
        the rows of block 0 come first (0, BLOCKS, 2 BLOCKS, ...), then those of block 1."""
        return np.concatenate([values[b::BLOCKS] for b in range(BLOCKS)])

    def problem(
        self, data: np.ndarray, target: np.ndarray, block: np.ndarray | None = None
    ) -> WeightedGram:
        """The weighted least-squares statistics of one label's outputs; with ``block``,
        the Gram matrix only on those features (exact, float64; NaN elsewhere)."""
        y_mean = float(self.weights @ target) / self.total
        pulled = self.weights * (target - y_mean)
        gram = WeightedGram.__new__(WeightedGram)
        gram.x_mean, gram.y_mean = self.x_mean, y_mean
        if block is None:
            gram.gram = self.gram
        else:
            scaled = (data[:, block] - self.x_mean[block]) * np.sqrt(self.weights)[:, None]
            gram.gram = np.full((data.shape[1],) * 2, np.nan)
            gram.gram[np.ix_(block, block)] = scaled.T @ scaled
        # Σ w (x - x̄)(y - ȳ) = Σ w x (y - ȳ): the weighted residuals sum to zero.
        gram.xy = pulled @ data - self.x_mean * float(pulled.sum())
        gram.yy = float((target - y_mean) @ pulled)
        return gram


def forward_ranking(own: WeightedGram) -> np.ndarray:
    """Every feature, best first, by the first forward step's gain (each on its own)."""
    diagonal = np.diag(own.gram)
    usable = diagonal > 0
    gain = np.where(usable, own.xy**2 / np.where(usable, diagonal, 1.0), 0.0)
    return np.argsort(-gain, kind="stable")


def candidates(order: np.ndarray, chosen: np.ndarray, count: int) -> np.ndarray:
    """Sorted indices: ``chosen`` and the best of ``order``, at least :data:`MIN_CANDIDATES`."""
    size = min(len(order), max(MIN_CANDIDATES, 10 * count))
    return np.union1d(order[:size], chosen)


def fit_and_assess_wide(
    data: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    num_features: int | str,
    feature_selection: str,
    features: WideFeatures,
    alpha: float = SURROGATE_ALPHA,
) -> tuple[SurrogateFit, Assessment | None]:
    """:func:`limecli.stability.fit_and_assess` for wide data (see the module's notes)."""
    auto = num_features == "auto"
    count = AUTO_FEATURES_CAP if auto else int(num_features)
    d = data.shape[1]
    method = resolve_selection(feature_selection, min(count, d))
    if method == "highest_weights":
        # The own ranking as one more "replicate" counting every block once: its top set is
        # decided as theirs are; the fit reads the Gram matrix only on those features.
        every = np.ones((1, BLOCKS))
        used = replicate_picks(data, target, features, HIGHEST_WEIGHTS_ALPHA, count, every)[0]
        own = features.problem(data, target, block=used)
    else:
        own = features.problem(data, target)
        order = forward_ranking(own)
        used = select_features_stacked(own.stack(), data[0], count, method)[0]
    fit = fit_on_features(own, used, data[0], alpha)
    if auto:
        fit = distinguishable(own, data, target, weights, fit, alpha)
        count = len(fit.features)
    if len(fit.features) == 0:
        return fit, None
    if method == "highest_weights":
        picked = replicate_picks(data, target, features, HIGHEST_WEIGHTS_ALPHA, count)
        pool = np.union1d(picked, fit.features)
        subset = data[:, pool]
        moments = FeatureMoments(subset, weights).with_target(target)
        stack = moments.grams(replicate_counts())
        selections = list(np.searchsorted(pool, picked))
    else:
        pool = candidates(order, fit.features, count)
        subset = data[:, pool]
        moments = FeatureMoments(subset, weights).with_target(target)
        stack = moments.grams(replicate_counts())
        selections = list(select_features_stacked(stack, subset[0], count, method))
    # The fit in the candidates' numbering, for the replicates' comparisons.
    local = dataclasses.replace(fit, features=np.searchsorted(pool, fit.features))
    errors = sandwich_std_errors(data, target, weights, fit, alpha)
    check = _assessment(moments, stack, selections, local, alpha, errors)
    return fit, dataclasses.replace(check, candidates=d)

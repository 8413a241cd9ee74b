"""Wide inputs: the stability replicates without 20 x d x d block moments.

Up to :data:`WIDE_FEATURES` interpretable features, :mod:`limecli.stability`
keeps per-block moments of every pair of features (20 x d x d) and solves
every replicate's d x d system: memory grows with d², time with d³. Above it,
for "highest_weights" and "forward" selection of fewer than a quarter of the
features:

* the explanation's own fit comes from one weighted Gram matrix of all the
  features (one d x d, built in row chunks): the same features, the same
  weights up to rounding (the same sums in another order);
* "highest_weights": each replicate's ridge on all d features is solved by
  preconditioned conjugate gradients (:func:`replicate_picks`; its Gram matrix
  applied from the samples in float32, the full one's Cholesky factor as
  preconditioner) only until its top set is decided: unchanged for
  :data:`_UNCHANGED` iterations, and no coefficient within the bound
  ``|e_j| <= sqrt(M_jj) sqrt(r'Mr) / mu`` of the current ones could change
  it (r the residual recomputed in float64, M the preconditioner, mu the
  preconditioned matrix's smallest eigenvalue as CG's Lanczos matrix
  estimates it, halved; measured, the bound is 10-50x the actual error).
  Decided replicates leave the iteration; nearly singular ones (about as few
  samples as features) and any undecided after :data:`_MAX_ITERATIONS` are
  solved directly (measured: every top set the exact solve's; the estimate is
  not a guaranteed bound, it was within 1.45x of the true value);
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
from scipy.linalg import cho_solve, eigvalsh_tridiagonal, lapack, solve_triangular

from limecli.stability import (
    BLOCKS,
    Assessment,
    FeatureMoments,
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
#: Rows per chunk are this many values over the feature count (about 4 MB of floats).
_CHUNK_VALUES = 500_000
#: Conjugate-gradient iterations at most; a replicate still undecided is solved directly.
_MAX_ITERATIONS = 100
#: From this iteration on, a replicate whose estimated smallest eigenvalue (halved) is
#: under :data:`_HOPELESS` is solved directly too (it would need hundreds of iterations).
_HOPELESS_AFTER = 20
_HOPELESS = 2e-3
#: The Lanczos estimate of the smallest eigenvalue is divided by this: at the decisions
#: measured (300 features, 40 replicates) it was at most 1.45x the true value.
_ESTIMATE_MARGIN = 2.0
#: A replicate's top set is checked once it has not changed for this many iterations.
_UNCHANGED = 3
#: The float64 check of a replicate that looks decided runs every this many iterations.
_CHECK_EVERY = 2


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
    """The label-independent half of a wide explanation: the weighted, centred Gram matrix."""

    def __init__(self, data: np.ndarray, weights: np.ndarray) -> None:
        n, d = data.shape
        self.weights = weights
        self.total = float(weights.sum())
        self.x_mean = (weights @ data) / self.total
        self.gram = np.zeros((d, d))
        step = max(1, _CHUNK_VALUES // max(d, 1))
        root = np.sqrt(weights)
        for start in range(0, n, step):
            # Scaled by √w on both sides, the product is one matrix by its own transpose,
            # which numpy hands to BLAS's symmetric rank-k update (half the work).
            scaled = (data[start : start + step] - self.x_mean) * root[start : start + step, None]
            self.gram += scaled.T @ scaled
        self._factors: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._data = data
        self._single: np.ndarray | None = None

    def factor(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """The upper Cholesky factor of gram + alpha I, and the square roots of its
        inverse's diagonal (for the error bound of :func:`replicate_picks`); once per alpha."""
        if alpha not in self._factors:
            lower = np.linalg.cholesky(self.gram + alpha * np.eye(len(self.gram)))
            inverse = lapack.dtrtri(lower, lower=1)[0]  # a Cholesky factor is invertible
            # Kept as its transpose, the upper factor in the column order LAPACK works in
            # (a C-ordered lower one would be copied by every solve).
            self._factors[alpha] = (lower.T, np.sqrt((inverse**2).sum(axis=0)))
        return self._factors[alpha]

    def single(self) -> np.ndarray:
        """The samples in float32 (exact for 0/1 features), for the fast products."""
        if self._single is None:
            self._single = self._data.astype(np.float32)
        return self._single

    def problem(self, data: np.ndarray, target: np.ndarray) -> WeightedGram:
        """The weighted least-squares statistics of one label's outputs."""
        y_mean = float(self.weights @ target) / self.total
        pulled = self.weights * (target - y_mean)
        gram = WeightedGram.__new__(WeightedGram)
        gram.gram, gram.x_mean, gram.y_mean = self.gram, self.x_mean, y_mean
        # Σ w (x - x̄)(y - ȳ) = Σ w x (y - ȳ): the weighted residuals sum to zero.
        gram.xy = pulled @ data - self.x_mean * float(pulled.sum())
        gram.yy = float((target - y_mean) @ pulled)
        return gram


def ranking(
    own: WeightedGram, instance: np.ndarray, method: str, features: WideFeatures
) -> np.ndarray:
    """Every feature, best first, as ``method`` ranks them on the full problem."""
    if method == "highest_weights":
        # The same system as the stacked ridge, solved with the shared Cholesky factor.
        upper = features.factor(HIGHEST_WEIGHTS_ALPHA)[0]
        coef = cho_solve((upper, False), own.xy, check_finite=False)
        return np.argsort(-np.abs(coef * instance), kind="stable")
    # forward: the first step's gain, each feature on its own.
    diagonal = np.diag(own.gram)
    usable = diagonal > 0
    gain = np.where(usable, own.xy**2 / np.where(usable, diagonal, 1.0), 0.0)
    return np.argsort(-gain, kind="stable")


def replicate_picks(
    data: np.ndarray, target: np.ndarray, features: WideFeatures, alpha: float, count: int
) -> np.ndarray:
    """(REPLICATES, count) sorted: each replicate's top ``count`` features by |coef x x0|,
    its ridge on every feature solved only as far as that set is decided (module notes)."""
    n = data.shape[0]
    v = features.weights[:, None] * replicate_counts().T[np.arange(n) % BLOCKS]  # (n, R)
    mean = features.x_mean
    total = v.sum(axis=0)
    y = target - float(features.weights @ target) / features.total
    both = data.T @ np.hstack([v, v * y[:, None]]) - np.outer(mean, np.hstack([total, v.T @ y]))
    shift = both[:, : v.shape[1]] / total  # (d, R): each replicate's mean less the full one's
    rhs = both[:, v.shape[1] :] - shift * (v.T @ y)
    factor, bound_scale = features.factor(alpha)
    single, single_factor = features.single(), np.asfortranarray(factor, dtype=np.float32)

    def apply(p: np.ndarray, cols: np.ndarray, exact: bool) -> np.ndarray:
        """Replicates ``cols``' penalised Gram matrices times ``p`` (float32 unless exact)."""
        vc, sc = v[:, cols], shift[:, cols]
        source = data if exact else single
        xp = (source @ p.astype(source.dtype, copy=False)).astype(float, copy=False)
        pulled = vc * (xp - mean @ p)
        back = (pulled.astype(source.dtype, copy=False).T @ source).T.astype(float)
        back -= np.outer(mean, pulled.sum(axis=0))
        return back - sc * (total[cols] * (sc * p).sum(axis=0)) + alpha * p

    def precondition(r: np.ndarray, exact: bool = False) -> np.ndarray:
        """M r, M the full penalised Gram matrix's inverse (float32 where it only steers)."""
        if exact:
            return cho_solve((factor, False), r, check_finite=False)
        half = solve_triangular(single_factor, r.astype(np.float32), trans="T", check_finite=False)
        return solve_triangular(single_factor, half, check_finite=False).astype(float)

    x0 = np.abs(data[0])
    reps = rhs.shape[1]
    coef = precondition(rhs)
    cols = np.arange(reps)
    residual = rhs - apply(coef, cols, exact=True)
    z = precondition(residual, exact=True)
    direction = z.copy()
    rz = (residual * z).sum(axis=0)
    steps: list[np.ndarray] = []  # CG's step lengths and ratios, per column (NaN once done)
    ratios: list[np.ndarray] = []
    last = np.full((reps, count), -1)
    unchanged = np.zeros(reps, dtype=int)
    picks = np.zeros((reps, count), dtype=int)
    direct: list[int] = []
    for iteration in range(_MAX_ITERATIONS):
        top = _top(coef[:, cols], x0, count)
        unchanged[cols] = np.where((top == last[cols]).all(axis=1), unchanged[cols] + 1, 0)
        last[cols] = top
        ready = np.flatnonzero((unchanged[cols] >= _UNCHANGED) | (rz <= 0))
        if len(ready) and len(steps) > 1:
            smallest = _ritz_min(np.array(steps)[:, cols[ready]], np.array(ratios)[:, cols[ready]])
            hopeful = _decided(coef[:, cols[ready]], x0, bound_scale, rz[ready], smallest, count)
            ready, smallest = ready[hopeful], smallest[hopeful]
            if iteration % _CHECK_EVERY and len(ready) < len(cols):
                ready = ready[:0]  # the float64 check every few iterations only
        else:
            ready = ready[:0]
        if len(ready):
            # Confirmed with the residual recomputed in float64 (the float32 products let the
            # running one drift), which then replaces the running one.
            fresh = rhs[:, cols[ready]] - apply(coef[:, cols[ready]], cols[ready], exact=True)
            residual[:, ready] = fresh
            z[:, ready] = precondition(fresh, exact=True)
            rz[ready] = (fresh * z[:, ready]).sum(axis=0)
            done = np.zeros(len(cols), dtype=bool)
            done[ready] = _decided(
                coef[:, cols[ready]], x0, bound_scale, rz[ready], smallest, count
            )
            picks[cols[done]] = last[cols[done]]
            cols, residual, z, direction, rz = _kept(~done, cols, residual, z, direction, rz)
        if iteration >= _HOPELESS_AFTER and iteration % _CHECK_EVERY == 0 and len(cols):
            # Nearly singular replicates (about as few samples as features) would need
            # hundreds of iterations: solved directly instead.
            estimate = _ritz_min(np.array(steps)[:, cols], np.array(ratios)[:, cols])
            direct += cols[estimate < _HOPELESS].tolist()
            kept = _kept(estimate >= _HOPELESS, cols, residual, z, direction, rz)
            cols, residual, z, direction, rz = kept
        if len(cols) == 0:
            break
        product = apply(direction, cols, exact=False)
        curvature = (direction * product).sum(axis=0)
        step = np.where(curvature > 0, rz / np.where(curvature > 0, curvature, 1.0), 0.0)
        coef[:, cols] += step * direction
        residual -= step * product
        z = precondition(residual)
        rz_next = (residual * z).sum(axis=0)
        ratio = np.where(rz > 0, rz_next / np.where(rz > 0, rz, 1.0), 0.0)
        direction = z + ratio * direction
        rz = rz_next
        steps.append(np.full(reps, np.nan))
        ratios.append(np.full(reps, np.nan))
        steps[-1][cols], ratios[-1][cols] = step, ratio
    rest = np.array(direct + cols.tolist(), dtype=int)
    if len(rest):
        picks[rest] = _top(_direct_ridges(data, target, v[:, rest], alpha), x0, count)
    return picks


def _kept(keep: np.ndarray, cols: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The active replicates' arrays down to those ``keep`` marks (vectors or columns)."""
    return (cols[keep], *(c[..., keep] for c in columns))


def _direct_ridges(data: np.ndarray, target: np.ndarray, v: np.ndarray, alpha: float) -> np.ndarray:
    """(d, m): the weighted ridge on every feature for each column of weights ``v`` (rows of
    weight 0 left out), solved directly: from the rows' own Gram matrix, or with fewer rows
    than features from the rows' inner products (the same solution, X'(XX' + aI)^-1 y)."""
    d = data.shape[1]
    out = np.empty((d, v.shape[1]))
    kernel = None
    for j in range(v.shape[1]):
        rows = v[:, j] > 0
        w = v[rows, j]
        total = w.sum()
        root = np.sqrt(w)
        centred_y = (target[rows] - (w @ target[rows]) / total) * root
        mean = (w @ data[rows]) / total
        if rows.sum() < d:
            if kernel is None:
                kernel = data @ data.T  # shared by the replicates
            inner = kernel[np.ix_(rows, rows)]
            pulled = inner @ w / total  # each row's product with the mean
            inner += (w @ pulled) / total - pulled[:, None] - pulled[None, :]
            inner *= np.outer(root, root)
            inner[np.diag_indices_from(inner)] += alpha
            g = root * np.linalg.solve(inner, centred_y)
            out[:, j] = data[rows].T @ g - mean * g.sum()
        else:
            scaled = (data[rows] - mean) * root[:, None]
            gram = scaled.T @ scaled
            gram[np.diag_indices_from(gram)] += alpha
            out[:, j] = np.linalg.solve(gram, scaled.T @ centred_y)
    return out


def _top(coef: np.ndarray, x0: np.ndarray, count: int) -> np.ndarray:
    """(R, count) sorted: each column's top ``count`` by |coef x x0| (ties: lower index)."""
    size = np.abs(coef.T * x0)
    if count < size.shape[1]:
        # The top ``count`` by partition; the stable sort only where the boundary value
        # repeats (a tie the lower index wins).
        part = np.sort(np.argpartition(-size, count - 1, axis=1)[:, :count], axis=1)
        rows = np.arange(size.shape[0])[:, None]
        edge = size[rows, part].min(axis=1)
        tied = (size == edge[:, None]).sum(axis=1) > (size[rows, part] == edge[:, None]).sum(axis=1)
        if not tied.any():
            return part
    return np.sort(np.argsort(-size, axis=1, kind="stable")[:, :count], axis=1)


def _decided(
    coef: np.ndarray,
    x0: np.ndarray,
    scale: np.ndarray,
    rz: np.ndarray,
    smallest: np.ndarray,
    count: int,
) -> np.ndarray:
    """(R,) whether each column's top set holds for every coef within the error bound
    sqrt(M_jj) sqrt(r'Mr) / mu_min of it (``scale`` the first factor, ``rz`` r'Mr)."""
    size = np.abs(coef.T * x0)
    margin = np.outer(np.sqrt(np.maximum(rz, 0.0)) / smallest, scale * x0)
    rows = np.arange(size.shape[0])[:, None]
    inside = np.zeros(size.shape, dtype=bool)
    inside[rows, _top(coef, x0, count)] = True
    low = np.where(inside, size - margin, np.inf).min(axis=1)
    high = np.where(inside, -np.inf, size + margin).max(axis=1)
    return low > high


def _ritz_min(steps: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """(R,) the smallest eigenvalue of each column's CG (Lanczos) tridiagonal matrix: the
    estimate of the preconditioned matrix's smallest eigenvalue, from above (it falls
    towards it as the iterations go on), divided by :data:`_ESTIMATE_MARGIN`."""
    out = np.empty(steps.shape[1])
    for r in range(steps.shape[1]):
        a, b = steps[:, r], ratios[:, r]
        keep = np.isfinite(a) & (a > 0)
        a, b = a[keep], b[keep]
        if len(a) == 0:
            out[r] = 0.0  # no estimate yet: no bound
            continue
        diagonal = 1.0 / a
        diagonal[1:] += b[:-1] / a[:-1]
        off = np.sqrt(np.maximum(b[:-1], 0.0)) / a[:-1]
        out[r] = eigvalsh_tridiagonal(diagonal, off, select="i", select_range=(0, 0))[0]
    return np.maximum(out / _ESTIMATE_MARGIN, 1e-300)


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
    own = features.problem(data, target)
    order = ranking(own, data[0], method, features)
    if method == "highest_weights":
        used = np.sort(order[:count])  # as select_features_stacked picks them
    else:
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

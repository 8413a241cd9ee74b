"""Wide inputs, "highest_weights": the replicates' top sets by conjugate gradients.

See :mod:`limecli.explainers.wide` for the method and what was measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import cho_factor, cho_solve, eigvalsh_tridiagonal

from limecli.block_moments import BLOCKS
from limecli.stability import replicate_counts

if TYPE_CHECKING:
    from limecli.explainers.wide import WideFeatures

#: Conjugate-gradient iterations at most; a replicate still undecided is solved directly.
_MAX_ITERATIONS = 100
#: From this iteration on (every 10th), a replicate whose halved eigenvalue estimate is
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
#: The replicates' products take a block's rows this many multiply-adds at a time (rows x
#: replicates x features), at least :data:`_SMALL_ROWS` rows: OpenBLAS multiplies matrices
#: up to this size with kernels that skip packing them, which at 1,700 features and 3-16
#: replicates was 1.5-2.4x faster per row than a whole block (250 rows) at once.
_SMALL_PRODUCT = 1_000_000
_SMALL_ROWS = 24


def replicate_picks(
    data: np.ndarray,
    target: np.ndarray,
    features: WideFeatures,
    alpha: float,
    count: int,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """(R, count) sorted: each replicate's top ``count`` features by |coef x x0|, its ridge
    on every feature solved only as far as that set is decided (module notes); ``counts``
    (R, BLOCKS) how often each counts each block (default: :func:`replicate_counts`)."""
    n = data.shape[0]
    counts = replicate_counts() if counts is None else counts
    v = features.weights[:, None] * counts.T[np.arange(n) % BLOCKS]  # (n, R)
    mean = features.x_mean
    total = v.sum(axis=0)
    y = target - float(features.weights @ target) / features.total
    both = data.T @ np.hstack([v, v * y[:, None]]) - np.outer(mean, np.hstack([total, v.T @ y]))
    shift = both[:, : v.shape[1]] / total  # (d, R): each replicate's mean less the full one's
    rhs = both[:, v.shape[1] :] - shift * (v.T @ y)
    inverse, factor, bound_scale = features.factor(alpha)
    single, bounds = features.single(), features.bounds
    block_weights = [features.weights[b::BLOCKS] for b in range(BLOCKS)]
    single_weights = [w.astype(np.float32) for w in block_weights]

    def apply(p: np.ndarray, cols: np.ndarray, exact: bool) -> np.ndarray:
        """Replicates ``cols``' penalised Gram matrices times ``p`` (float32 unless exact)."""
        sc = shift[:, cols]
        back, sums = _products(p, cols, exact)
        back -= np.outer(mean, sums)
        return back - sc * (total[cols] * (sc * p).sum(axis=0)) + alpha * p

    def _products(p: np.ndarray, cols: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """X'V(X - mean)p for replicates ``cols`` (V their weights) and the sums of V(X -
        mean)p, block by block: each block's rows are read once for both products, and
        only for the replicates that count the block (float32 unless exact); a few rows
        at a time where that lets BLAS use its small-matrix kernels (:data:`_SMALL_PRODUCT`)."""
        dtype = np.float64 if exact else np.float32
        source_p = p.astype(dtype, copy=False)
        centre = (mean @ p).astype(dtype, copy=False)
        back: np.ndarray = np.zeros((len(cols), p.shape[0]), dtype=dtype)
        sums: np.ndarray = np.zeros(len(cols), dtype=dtype)
        in_cols = counts[cols].astype(dtype)
        for b in range(BLOCKS):
            times = in_cols[:, b]
            some: slice | np.ndarray = slice(None)
            if not times.all():
                some = np.flatnonzero(times)
                if len(some) == 0:
                    continue  # no replicate counts this block
            # The block's rows: a strided view of the samples, or a slice of the float32
            # copy that stores them block by block.
            rows = data[b::BLOCKS] if exact else single[bounds[b] : bounds[b + 1]]
            block_p, block_centre = source_p[:, some], centre[some]
            weight = (block_weights if exact else single_weights)[b][:, None] * times[some]
            width = block_p.shape[1]
            step = _SMALL_PRODUCT // (width * len(p))
            step = step if step >= _SMALL_ROWS else len(rows)
            block_back: np.ndarray = np.zeros((width, len(p)), dtype=dtype)
            block_sums: np.ndarray = np.zeros(width, dtype=dtype)
            for start in range(0, len(rows), step):
                part = rows[start : start + step]
                pulled = part @ block_p
                pulled -= block_centre
                pulled *= weight[start : start + step]
                block_back += pulled.T @ part
                block_sums += pulled.sum(axis=0)
            back[some] += block_back
            sums[some] += block_sums
        return back.T.astype(float), sums.astype(float)

    def precondition(r: np.ndarray, exact: bool = False) -> np.ndarray:
        """M r, M the full penalised Gram matrix's inverse (float32 where it only steers)."""
        if exact:
            return cho_solve((factor, True), r, check_finite=False)
        return _triangular_products(inverse, r)

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
        # The float64 check every few iterations only, or when every column may be decided.
        checking = iteration % _CHECK_EVERY == 0 or len(ready) == len(cols)
        if len(ready) and len(steps) > 1 and checking:
            history = np.array(steps)[:, cols[ready]], np.array(ratios)[:, cols[ready]]
            smallest = _ritz_min(*history)
            # |e_j|^2 <= M_jj r'Mr times this (the Gauss-Radau bound over mu: module notes)
            factor_sq = _radau(*history, smallest) / smallest
            reach = np.sqrt(factor_sq * np.maximum(rz[ready], 0.0))
            hopeful = _decided(coef[:, cols[ready]], x0, bound_scale, reach, count)
            ready, factor_sq = ready[hopeful], factor_sq[hopeful]
            if iteration % _CHECK_EVERY and len(ready) < len(cols):
                ready = ready[:0]
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
            reach = np.sqrt(factor_sq * np.maximum(rz[ready], 0.0))
            done[ready] = _decided(coef[:, cols[ready]], x0, bound_scale, reach, count)
            picks[cols[done]] = last[cols[done]]
            cols, residual, z, direction, rz = _kept(~done, cols, residual, z, direction, rz)
        if iteration >= _HOPELESS_AFTER and iteration % 10 == 0 and len(cols):
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


def _triangular_products(inverse: np.ndarray, r: np.ndarray) -> np.ndarray:
    """inverse' inverse r for a lower triangular ``inverse`` (float32: the products in
    its type), a few of its rows at a time: each product skips the triangle's zeros, and
    is small enough for BLAS's small-matrix kernels (:data:`_SMALL_PRODUCT`; measured at
    1,700 features, 1.3-5x faster than two triangular solves with the factor itself,
    except for a single column)."""
    d = len(inverse)
    step = max(_SMALL_ROWS, _SMALL_PRODUCT // (r.shape[1] * d))
    source = r.astype(inverse.dtype)
    half = np.empty_like(source)
    for start in range(0, d, step):
        stop = min(start + step, d)
        half[start:stop] = inverse[start:stop, :stop] @ source[:stop]
    out = np.empty_like(source)
    for start in range(0, d, step):
        stop = min(start + step, d)
        out[start:stop] = inverse[start:, start:stop].T @ half[start:]
    return out.astype(float)


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
            g = root * cho_solve(cho_factor(inner.T, overwrite_a=True), centred_y)
            out[:, j] = data[rows].T @ g - mean * g.sum()
        else:
            scaled = (data[rows] - mean) * root[:, None]
            gram = scaled.T @ scaled
            gram[np.diag_indices_from(gram)] += alpha
            out[:, j] = cho_solve(cho_factor(gram.T, overwrite_a=True), scaled.T @ centred_y)
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
    coef: np.ndarray, x0: np.ndarray, scale: np.ndarray, reach: np.ndarray, count: int
) -> np.ndarray:
    """(R,) whether each column's top set holds for every coef within the error bound
    ``scale_j * reach`` of it (``scale`` sqrt(M_jj), ``reach`` (R,), see the module notes)."""
    size = np.abs(coef.T * x0)
    margin = np.outer(reach, scale * x0)
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


def _radau(steps: np.ndarray, ratios: np.ndarray, smallest: np.ndarray) -> np.ndarray:
    """(R,) g with ||x* - x||_A^2 <= g r'Mr (A the replicate's matrix, x its iterate, r its
    residual) when ``smallest`` is at most the preconditioned matrix's smallest eigenvalue:
    the Gauss-Radau quadrature bound of CG's error, from its step lengths and ratios (the
    recurrence of Meurant and Tichy's CGQ). At most 1 / ``smallest`` (the bound without
    the quadrature, which a column gets if its history breaks the recurrence)."""
    g = 1.0 / smallest
    broken = np.zeros(len(g), dtype=bool)
    for a, b in zip(steps, ratios, strict=True):
        rest = g - a
        broken |= ~(np.isfinite(a) & (a > 0) & (b > 0) & (rest > 0))
        g = np.where(broken, g, rest / (smallest * np.where(broken, 1.0, rest) + b))
    return np.where(broken | ~(g > 0), 1.0 / smallest, np.minimum(g, 1.0 / smallest))

"""The tabular path's cheaper steps (issue 20), each against the plain computation it replaces.

Every step here must give the same bits as before, so the checks are exact
(``array_equal``, ``==``), not approximate: a count of differing features for
discretised distances, the sandwich's design matrix filled in place, one
weighted-sample array per explanation shared by its labels, the replicates'
overlaps from one flat array, the rank agreement for every m at once, a row's
cells found once per table, bins of one value without arrays, and the
interpretable data made after the model call.
"""

from __future__ import annotations

import math

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS

from limecli import TabularExplainer
from limecli.sampling.bin_table import _spares
from limecli.sampling.columns import row_cells
from limecli.sampling.discretize import BinnedColumn
from limecli.stability import (
    BlockMoments,
    FeatureMoments,
    _assessment,
    replicate_counts,
    selection_variance,
)
from limecli.surrogate import SurrogateFit, fit_surrogate
from limecli.uncertainty import rank_agreement, sandwich_std_errors


def _training() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv").drop(columns="diagnosis")


def _binary(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = (rng.random((n, d)) < rng.uniform(0.2, 0.8)).astype(float)
    data[0] = 1.0
    target = 1 / (1 + np.exp(-(data @ (rng.normal(size=d) * (rng.random(d) < 0.5)))))
    return data, target + 0.05 * rng.normal(size=n), rng.random(n)


def test_discretised_distances_are_the_euclidean_ones() -> None:
    loans = pd.read_csv(SAMPLE_DATA / "loans_train.csv")  # numeric and categorical columns
    for frame, target in ((_training(), None), (loans, "decision")):
        explainer = TabularExplainer(lambda b: np.ones((len(b), 1)), frame, target=target)
        subject = explainer._prepare(frame.drop(columns=target or []).iloc[4], None)
        pool = explainer.sampler.draw(3000, np.random.default_rng(2))
        _, data = explainer.sampler.represent(pool, subject.encoded)
        assert set(np.unique(data)) == {0.0, 1.0}
        plain = np.sqrt(((data - data[0]) ** 2).sum(axis=1))
        np.testing.assert_array_equal(explainer._distances(data), plain)


def _sandwich_plainly(
    data: np.ndarray, target: np.ndarray, weights: np.ndarray, fit: SurrogateFit, alpha: float
) -> np.ndarray:
    """The sandwich as first written: column_stack, a fresh array for every product."""
    x = data[:, fit.features]
    z = np.column_stack([np.ones(x.shape[0]), x])
    resid = target - z @ np.concatenate([[fit.intercept], fit.weights])
    penalty = np.full(z.shape[1], alpha)
    penalty[0] = 0.0
    inverse = np.linalg.inv((z * weights[:, None]).T @ z + np.diag(penalty))
    pull = z[1:] * (weights[1:] * resid[1:])[:, None]
    variance = np.einsum("ij,ji->i", inverse @ (pull.T @ pull), inverse)
    return np.sqrt(np.clip(variance[1:], 0.0, None))


@pytest.mark.parametrize("k", [1, 2, 7])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_sandwich_errors_are_bit_for_bit_the_plain_ones(k: int, layout: str) -> None:
    data, target, w = _binary(3001, 12, k)
    if layout == "F":
        data = np.asfortranarray(data)
    elif layout == "strided":
        data = np.repeat(data, 2, axis=1)[:, ::2]
    fit = fit_surrogate(data, target, w, k, "highest_weights")
    fast = sandwich_std_errors(data, target, w, fit, 1.0)
    np.testing.assert_array_equal(fast, _sandwich_plainly(data, target, w, fit, 1.0))


@pytest.mark.parametrize("n", [1000, 1013])  # 1013: padded to whole blocks
def test_shared_moments_give_every_label_its_own_moments(n: int) -> None:
    data, target, w = _binary(n, 8, 5)
    shared = FeatureMoments(data, w)
    for y in (target, 1.0 - target, 2.0 * target):  # the first label, then rebuilt ones
        got, alone = shared.with_target(y), BlockMoments.of(data, y, w)
        for name in ("sw", "sx", "sxx", "sy", "sxy", "syy"):
            np.testing.assert_array_equal(getattr(got, name), getattr(alone, name))


def _rank_agreement_by_sets(chosen: np.ndarray, orders: list[np.ndarray]) -> np.ndarray:
    same = np.zeros(len(chosen))
    for m in range(1, len(chosen) + 1):
        top = set(chosen[:m].tolist())
        same[m - 1] = sum(len(o) >= m and set(o[:m].tolist()) == top for o in orders)
    return same / max(len(orders), 1)


@pytest.mark.parametrize("seed", range(40))
def test_rank_agreement_is_the_share_of_equal_top_sets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 20))
    chosen = rng.permutation(d)[: int(rng.integers(1, d + 1))]
    orders = []
    for _ in range(20):
        order = chosen.copy() if rng.random() < 0.4 else rng.permutation(d)
        if rng.random() < 0.5 and len(order) > 1:  # two neighbours swapped
            i = int(rng.integers(0, len(order) - 1))
            order[[i, i + 1]] = order[[i + 1, i]]
        orders.append(order[: int(rng.integers(0, d + 1))])  # some shorter than chosen
    np.testing.assert_array_equal(
        rank_agreement(chosen, orders), _rank_agreement_by_sets(chosen, orders)
    )


def test_replicate_overlaps_and_weights_are_those_of_sets_and_loops() -> None:
    data, target, w = _binary(2000, 10, 9)
    moments = BlockMoments.of(data, target, w)
    replicates = moments.grams(replicate_counts())
    fit = fit_surrogate(data, target, w, 4, "forward")
    rng = np.random.default_rng(1)
    # Selections of different sizes (as lasso_path makes them), one of them empty.
    selections = [np.sort(rng.permutation(10)[: int(rng.integers(0, 7))]) for _ in range(20)]
    selections[3] = np.sort(fit.features)
    errors = np.full(4, 0.01)
    got = _assessment(moments, replicates, selections, fit, 1.0, errors)
    chosen = set(fit.features.tolist())
    picked = [set(s.tolist()) for s in selections]
    assert got.top_k_change_probability == sum(p != chosen for p in picked) / 20
    assert got.top_k_mean_jaccard == float(
        np.mean([len(p & chosen) / len(p | chosen) for p in picked])
    )
    own = np.full((20, 4), np.nan)
    for r, sel in enumerate(selections):
        if len(sel):
            coef = replicates.problem(r).solve(sel, 1.0)
            for j, c in zip(sel.tolist(), coef, strict=True):
                if j in chosen:
                    own[r, fit.features.tolist().index(j)] = c
    extra = selection_variance(own, replicates.ridge(fit.features, 1.0))
    np.testing.assert_array_equal(got.std_error, np.sqrt(errors**2 + extra))


def test_row_cells_are_the_cells_by_label() -> None:
    frame = pd.DataFrame(
        {
            "a": [1.5, np.nan],
            "b": pd.array([2, None], dtype="Int64"),
            "c": ["x", None],
            "d": [True, False],
        }
    )
    rows = [
        _training().iloc[7],  # floats
        _training().iloc[8],  # the same labels again: the lookup kept
        frame.iloc[0],  # objects
        frame.iloc[1],
        frame[["b"]].iloc[1],  # a nullable integer row: by label
        pd.Series([1.0, 2.0, 3.0], index=["a", "b", "a"]),  # repeated labels: by label
    ]
    for row in rows:
        columns = list(dict.fromkeys(row.index))[::-1]
        got = row_cells(row, columns)
        expected = [row[c] for c in columns]
        assert [type(v) for v in got] == [type(v) for v in expected]
        for g, e in zip(got, expected, strict=True):
            if isinstance(e, pd.Series):  # a repeated label's cells
                assert g.equals(e)
            else:
                assert g is e or g == e or (pd.isna(g) and pd.isna(e))


def test_one_value_falls_in_the_bin_digitize_gives() -> None:
    column = BinnedColumn(np.array([-1.0, 0.0, 2.5]), np.linspace(-3, 4, 50), missing_rate=0.1)
    for v in (-5.0, -1.0, -0.5, -0.0, 0.0, 1e-300, 2.5, np.nextafter(2.5, 3), 9.0):
        assert column.bin_of(v) == int(column.digitize(np.array([v]))[0])
    assert column.bin_of(float("nan")) == column.missing_bin


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_a_model_changing_its_input_changes_no_explanation(discretizer: str | None) -> None:
    # The interpretable data of a discretised pool are made after the model's call:
    # they must not read the values the model was given (and may have changed).
    forest = joblib.load(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    frame = pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv")
    row = pd.read_csv(SAMPLE_DATA / "breast_cancer_test.csv").iloc[12]
    columns = [c for c in frame.columns if c != "diagnosis"]

    def predict(batch: np.ndarray) -> np.ndarray:
        return forest.predict_proba(pd.DataFrame(batch, columns=columns))

    def vandal(batch: np.ndarray) -> np.ndarray:
        assert isinstance(batch, np.ndarray)  # the pool's own values, handed over
        out = predict(batch)
        batch[...] = 0.0
        return out

    def explain(fn: object) -> str:
        explainer = TabularExplainer(fn, frame, target="diagnosis", discretizer=discretizer)
        return explainer.explain(row, seed=1, num_samples=800, num_features=4).to_json()

    assert explain(vandal) == explain(predict)


def test_recycled_arrays_change_no_explanation_and_no_kept_batch() -> None:
    # A discretised explanation gives its interpretable data back for the next draw's
    # values: explanations stay those of a fresh explainer, and a batch the model kept
    # is never written into.
    forest = joblib.load(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    frame = pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv")
    rows = pd.read_csv(SAMPLE_DATA / "breast_cancer_test.csv")
    columns = [c for c in frame.columns if c != "diagnosis"]
    kept: list[tuple[np.ndarray, np.ndarray]] = []

    def keeper(batch: np.ndarray) -> np.ndarray:
        if len(kept) < 2:
            kept.append((batch, batch.copy()))  # the array itself, and what it held
        return forest.predict_proba(pd.DataFrame(batch, columns=columns))

    def explain(explainer: TabularExplainer, i: int) -> str:
        return explainer.explain(rows.iloc[i], seed=i, num_samples=600).to_json()

    reused = TabularExplainer(keeper, frame, target="diagnosis")
    table = reused.sampler.bin_table
    assert table is not None
    got = [explain(reused, i) for i in (3, 5, 3, 8)]
    for i, text in zip((3, 5, 3, 8), got, strict=True):
        assert text == explain(TabularExplainer(keeper, frame, target="diagnosis"), i)
    for batch, copy in kept:
        np.testing.assert_array_equal(batch, copy)
    # An array someone still holds is not written into; one no one holds is.
    held = np.zeros((600, table.n_columns))
    table.recycle(held)
    _, values = table.draw(600, np.random.default_rng(0))
    assert not held.any() and values is not held
    table.recycle(np.zeros((600, table.n_columns)))
    address = _spares[table].ctypes.data
    _, values = table.draw(600, np.random.default_rng(0))
    assert values.ctypes.data == address
    table.recycle(np.zeros((601, table.n_columns)))  # another size: a fresh array
    _, values = table.draw(600, np.random.default_rng(0))
    assert table not in _spares


def test_rows_of_one_frame_share_one_column_lookup() -> None:
    import limecli.sampling.columns as columns_module

    # Mixed columns (object rows), as most CSVs give.
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [5.0, 6.0]})
    assert row_cells(frame.iloc[0], ["c", "a"]) == [5.0, 1.0]
    lookup = columns_module._last_lookup
    # Each iloc row is a new Series whose index is a view of the frame's columns.
    assert row_cells(frame.iloc[1], ["c", "a"]) == [6.0, 2.0]
    assert columns_module._last_lookup is lookup
    # The same labels in another order (another index): looked up again, right cells.
    other = frame[["c", "b", "a"]]
    assert row_cells(other.iloc[1], ["c", "a"]) == [6.0, 2.0]
    assert columns_module._last_lookup is not lookup
    assert columns_module._last_lookup[2] == [0, 2]
    # Rows that come unpickled (a batch worker's): each has its own index with the same
    # labels; the lookup of the first is kept for the next.
    import pickle

    first, second = (pickle.loads(pickle.dumps(other.iloc[i])) for i in (0, 1))
    assert not first.index.is_(second.index)
    assert row_cells(first, ["c", "a"]) == [5.0, 1.0]
    lookup = columns_module._last_lookup
    assert row_cells(second, ["c", "a"]) == [6.0, 2.0]
    assert columns_module._last_lookup is lookup
    # The columns a row lacks: none at once for labels just looked up; else found.
    assert columns_module.missing_columns(second, ["c", "a"]) == []
    assert columns_module.missing_columns(frame[["a"]].iloc[0], ["c", "a"]) == ["c"]
    # Equal-looking labels of another type are other labels: looked up again.
    numbered = pd.Series([7.0, 8.0], index=[0, 1])
    assert row_cells(numbered, [1, 0]) == [8.0, 7.0]
    assert row_cells(pd.Series([7.0, 8.0], index=["0", "1"]), ["1", "0"]) == [8.0, 7.0]


def test_jsonable_plain_values_and_their_subclasses() -> None:
    from enum import IntEnum

    from limecli.jsonable import jsonable

    class Level(IntEnum):
        HIGH = 2

    value = {
        "s": "x",
        "i": 3,
        "b": True,
        "n": None,
        "f": 0.5,
        "nan": float("nan"),
        "inf": -math.inf,
        "np": [np.float64(np.nan), np.float32(1.5), np.int64(4), np.str_("y"), np.bool_(True)],
        "array": np.array([[1.0, np.inf]]),
        "enum": Level.HIGH,
        1: (1, 2),
    }
    got = jsonable(value)
    assert got == {
        "s": "x",
        "i": 3,
        "b": True,
        "n": None,
        "f": 0.5,
        "nan": None,
        "inf": None,
        "np": [None, 1.5, 4, "y", True],
        "array": [[1.0, None]],
        "enum": Level.HIGH,
        "1": [1, 2],
    }
    assert [type(v) for v in got["np"]] == [type(None), float, int, np.str_, bool]
    assert type(got["b"]) is bool and type(got["enum"]) is Level


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_a_shared_pool_is_represented_in_place_as_a_placed_copy_would_be(
    discretizer: str | None,
) -> None:
    # Mixed columns, a category and gaps: every branch of the interpretable data.
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": np.where(rng.random(300) < 0.2, np.nan, rng.normal(size=300)),
            "c": rng.choice(["x", "y", "z"], size=300),
        }
    )

    def model(batch: pd.DataFrame) -> np.ndarray:
        return np.nan_to_num(batch["a"].to_numpy(dtype=float))[:, None]

    explainer = TabularExplainer(
        model, frame, categorical=["c"], discretizer=discretizer, mode="regression"
    )
    sampler = explainer.sampler
    pool = sampler.draw(400, np.random.default_rng(0))
    before = [None if a is None else a.copy() for a in (pool.numeric, pool.bins, pool.codes)]
    for i in (0, 3, 7):
        instance = sampler.encode(explainer.layout.row(frame.iloc[i], explainer.feature_columns))
        expected = sampler.represent(pool, instance)[1]
        np.testing.assert_array_equal(sampler.shared_interpretable(pool, instance), expected)
    # The shared pool is read, never changed.
    for a, b in zip((pool.numeric, pool.bins, pool.codes), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_blas_controller_is_kept_until_modules_are_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys
    import types

    import threadpoolctl

    import limecli.surrogate as surrogate

    made: list[int] = []
    real = threadpoolctl.ThreadpoolController

    def counted() -> threadpoolctl.ThreadpoolController:
        made.append(1)
        return real()

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", counted)
    monkeypatch.setattr(surrogate, "_BLAS", None)
    for _ in range(3):
        with surrogate.single_threaded_blas():
            blas = [i for i in real().info() if i["user_api"] == "blas"]
            assert blas and all(i["num_threads"] == 1 for i in blas)
    assert len(made) == 1  # made once, not per call (4.6 ms each)
    # A module imported since (it may have loaded another BLAS): made again.
    monkeypatch.setitem(sys.modules, "limecli_test_new_module", types.ModuleType("m"))
    with surrogate.single_threaded_blas():
        pass
    assert len(made) == 2

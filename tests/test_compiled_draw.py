"""The tabular draw's compiled loop (limecli/sampling/_draw.c) gives numpy's bits.

Every BinTable draw runs the compiled loop where the install built it, and the numpy
chunks otherwise; the two must give the same bins, values and generator state, so a
recorded explanation does not depend on whether a compiler was there. CI sets
LIMECLI_REQUIRE_COMPILED=1: there the loop must have been built.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from sklearn.datasets import load_breast_cancer, load_diabetes

from limecli import TabularExplainer
from limecli.sampling import bin_table
from limecli.sampling.tabular import TabularSampler

compiled = pytest.mark.skipif(
    bin_table._compiled is None, reason="the compiled draw loop was not built here"
)


def test_the_loop_is_built_where_ci_requires_it() -> None:
    if os.environ.get("LIMECLI_REQUIRE_COMPILED") != "1":
        pytest.skip("LIMECLI_REQUIRE_COMPILED is not set (CI sets it)")
    assert bin_table._compiled is not None


def _frames() -> dict[str, pd.DataFrame]:
    cancer = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    rng = np.random.default_rng(5)
    gaps = cancer.mask(rng.random(cancer.shape) < 0.1)
    skewed = pd.DataFrame(
        {
            "lognormal": rng.lognormal(0, 2, 400),
            "steps": rng.integers(0, 3, 400).astype(float),  # bins with min == max
            "constant": np.full(400, 7.0),
            "tiny": rng.normal(0, 1e-12, 400),
        }
    )
    wide = pd.DataFrame(rng.normal(size=(200, 1000)), columns=[f"c{i}" for i in range(1000)])
    return {
        "breast cancer": cancer,
        "with missing cells": gaps,
        "diabetes": load_diabetes(as_frame=True).frame,
        "one column": cancer.iloc[:, :1],
        "skewed and degenerate": skewed,
        "wide (fewer quantile points)": wide,
    }


def _tables() -> list[tuple[str, str]]:
    return [(name, disc) for name in _frames() for disc in ("quartile", "decile")]


@compiled
@pytest.mark.parametrize(("frame", "discretizer"), _tables())
def test_compiled_and_numpy_draws_are_the_same_bits(monkeypatch, frame, discretizer) -> None:
    table = TabularSampler(_frames()[frame], discretizer=discretizer).bin_table
    assert table is not None
    for n, seed in ((0, 0), (1, 3), (7, 1), (5000, 0), (1201, 11)):
        draws = {}
        for path in ("compiled", "numpy"):
            monkeypatch.setattr(
                bin_table, "_compiled", None if path == "numpy" else bin_table._compiled
            )
            rng = np.random.default_rng(seed)
            bins, values = table.draw(n, rng)
            draws[path] = (bins.copy(), values.tobytes(), rng.random())  # and the stream after
        assert np.array_equal(draws["compiled"][0], draws["numpy"][0]), (frame, n)
        assert draws["compiled"][1] == draws["numpy"][1], (frame, n)
        assert draws["compiled"][2] == draws["numpy"][2], (frame, n)
        monkeypatch.undo()


@compiled
def test_the_draws_land_in_their_bins() -> None:
    """Not only the same as numpy: each value lies in its bin's observed range."""
    frame = _frames()["breast cancer"]
    sampler = TabularSampler(frame)
    table = sampler.bin_table
    assert table is not None
    bins, values = table.draw(20000, np.random.default_rng(2))
    flat = bins.astype(np.intp) + table.offsets
    assert np.all(values >= table.mins.reshape(-1)[flat])
    assert np.all(values <= table.maxs.reshape(-1)[flat])
    # The bins come at the training frequencies (quartiles: about a quarter each).
    shares = np.stack([(bins == b).mean(axis=0) for b in range(4)])
    assert np.allclose(shares, 0.25, atol=0.02)


@compiled
def test_an_explanation_is_the_same_bytes_either_way(monkeypatch) -> None:
    import joblib

    model = joblib.load(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    train = pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv")
    test = pd.read_csv(SAMPLE_DATA / "breast_cancer_test.csv")
    outputs = {}
    for path in ("compiled", "numpy"):
        monkeypatch.setattr(
            bin_table, "_compiled", None if path == "numpy" else bin_table._compiled
        )
        explainer = TabularExplainer(model, train, target="diagnosis")
        outputs[path] = explainer.explain(test.iloc[12], seed=4).to_json()
    assert outputs["compiled"] == outputs["numpy"]


@compiled
def test_the_loop_refuses_what_would_overrun_its_buffers() -> None:
    fill = bin_table._compiled.fill_bins_and_values
    table = TabularSampler(_frames()["diabetes"]).bin_table
    assert table is not None and table.cells is not None
    cols, width, points = table.n_columns, table.width, table.points
    values = np.random.default_rng(0).random((10, cols))
    bins = np.empty((10, cols), dtype=np.int8)
    tails = np.empty(values.size, dtype=np.intp)
    args = [table.edge_rows, table.lower.reshape(-1), table.stretch.reshape(-1), table.cells]

    def call(v=values, b=bins, t=tails, c=cols, w=width, p=points, a=args):
        return fill(v.reshape(-1), b.reshape(-1), *a, c, w, p, t)

    assert 0 <= call() <= values.size  # well formed: it runs
    with pytest.raises(TypeError, match="bins"):
        call(b=bins.astype(np.int64))
    with pytest.raises(ValueError, match="bins"):
        call(b=bins[:5])
    with pytest.raises(ValueError, match="tails"):
        call(t=tails[:3])
    with pytest.raises(ValueError, match="cells"):
        call(a=[*args[:3], table.cells[:10]])
    with pytest.raises(ValueError, match="whole rows"):
        call(v=values.reshape(-1)[:-1], b=bins.reshape(-1)[:-1])
    with pytest.raises(ValueError, match="shape"):
        call(w=0)
    with pytest.raises(TypeError, match="values"):
        call(v=values.astype(np.float32))

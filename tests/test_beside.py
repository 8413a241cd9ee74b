"""Work beside the model's call (limecli.explainers.beside): the same explanations, and a
thread that ends with the call, whatever the model does."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from sklearn.linear_model import LogisticRegression

from limecli import TabularExplainer, load_model
from limecli.errors import PredictorError
from limecli.explainers import beside
from limecli.explainers.beside import Beside


@pytest.fixture
def toggle(monkeypatch: pytest.MonkeyPatch):
    """Run a function with the work beside the model on, then off: both results."""

    def both(run):
        monkeypatch.setattr(beside, "spare_core", lambda: True)
        monkeypatch.setattr(beside, "ENABLED", True)
        on = run()
        monkeypatch.setattr(beside, "ENABLED", False)
        off = run()
        return on, off

    return both


def _forest() -> tuple[TabularExplainer, pd.DataFrame]:
    train = pd.read_csv(SAMPLE_DATA / "breast_cancer_train.csv")
    test = pd.read_csv(SAMPLE_DATA / "breast_cancer_test.csv")
    model = load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    return TabularExplainer(model, train, target="diagnosis"), test


@pytest.mark.parametrize("num_features", [5, 10, "auto"])
def test_tabular_explanations_are_the_same_bytes(toggle, num_features) -> None:
    explainer, test = _forest()
    # Rows 12 and 40 at the default "auto" sample count: one of them doubles on this seed.
    rows = [test.iloc[12], test.iloc[40]]

    def run():
        return [explainer.explain(r, seed=3, num_features=num_features).to_json() for r in rows]

    on, off = toggle(run)
    assert on == off
    assert len({e for e in on}) == 2


def test_the_thread_runs_for_narrow_tables_only(monkeypatch) -> None:
    monkeypatch.setattr(beside, "spare_core", lambda: True)
    monkeypatch.setattr(beside, "ENABLED", True)
    ran: list[str] = []
    run = Beside._run
    monkeypatch.setattr(
        Beside, "_run", lambda self: (ran.append(threading.current_thread().name), run(self))
    )
    explainer, test = _forest()
    explainer.explain(test.iloc[0], seed=0, num_samples=1000)
    assert ran == ["limecli-beside"]
    # 300 features: the wide path's one Gram matrix is not computed beside the model (it
    # would compete with the model for the cores), and the result is the same.
    ran.clear()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 300))
    model = LogisticRegression(max_iter=300).fit(x, (x[:, 0] + x[:, 1] > 0).astype(int))
    wide = TabularExplainer(model, x)
    on = wide.explain(x[0], seed=1, num_samples=1500).to_json()
    assert ran == []
    monkeypatch.setattr(beside, "ENABLED", False)
    assert wide.explain(x[0], seed=1, num_samples=1500).to_json() == on


def test_the_thread_runs_while_the_caller_works_and_its_error_reaches_the_caller() -> None:
    started = threading.Event()

    def work() -> int:
        started.set()
        return 7

    job = Beside(work)
    assert started.wait(5)  # it ran without anyone asking for the result
    assert job.result() == 7

    def fails() -> None:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        Beside(fails).result()
    assert Beside.finish(None) is None


def test_no_thread_without_a_spare_core_or_when_turned_off(monkeypatch) -> None:
    monkeypatch.setattr(beside, "ENABLED", True)
    monkeypatch.setattr(beside, "spare_core", lambda: False)
    assert Beside.start(lambda data: data.sum(), np.ones(3)) is None
    monkeypatch.setattr(beside, "spare_core", lambda: True)
    job = Beside.start(lambda data: data.sum(), np.ones(3))
    assert job is not None and job.result() == 3.0
    assert Beside.start(None, np.ones(3)) is None
    monkeypatch.setattr(beside, "ENABLED", False)
    assert Beside.start(lambda data: data.sum(), np.ones(3)) is None


def test_a_failing_model_leaves_no_thread_behind(monkeypatch) -> None:
    monkeypatch.setattr(beside, "spare_core", lambda: True)
    monkeypatch.setattr(beside, "ENABLED", True)
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    calls = {"n": 0}

    def model(batch):
        calls["n"] += 1
        if len(batch) > 1:  # the instance's own probe passes, the samples fail
            raise RuntimeError("the model broke")
        return np.column_stack([np.full(len(batch), 0.3), np.full(len(batch), 0.7)])

    explainer = TabularExplainer(model, x, mode="classification")
    with pytest.raises(PredictorError, match="the model broke"):
        explainer.explain(x.iloc[0], seed=0, num_samples=500)
    deadline = time.monotonic() + 5
    while any(t.name == "limecli-beside" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the thread beside the model did not end"
        time.sleep(0.01)
    assert calls["n"] >= 1

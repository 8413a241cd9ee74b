"""The tabular Python API on what a data scientist holds: numpy arrays, pd.DataFrame(X),
scipy sparse matrices, rows of every form, and class names (issue 14, scope 5).

Real data from scikit-learn's bundled sets; models fitted on numpy, on
``pd.DataFrame(X)`` (integer column labels) and on named DataFrames. Every
warning is an error here (pyproject), so a model given the wrong form (e.g.
a DataFrame for a model fitted on an array) fails the test through
scikit-learn's feature-name warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import limecli.inputs.frames as frames
from limecli import (
    ParameterError,
    Predictor,
    TabularExplainer,
    explain_image,
    explain_tabular,
    explain_text,
)
from limecli.explanation import Explanation

N = 400  # samples per explanation: enough to be stable, fast enough for many calls


def classifier() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


@pytest.fixture(scope="module")
def cancer() -> dict[str, Any]:
    data = load_breast_cancer()
    X, y = data.data, data.target
    names = [str(n) for n in data.feature_names]
    return {
        "X": X,
        "y": y,
        "names": names,
        "classes": [str(c) for c in data.target_names],
        "numpy": classifier().fit(X, y),
        "int_frame": classifier().fit(pd.DataFrame(X), y),
        "named": classifier().fit(pd.DataFrame(X, columns=names), y),
    }


class Recording:
    """A fitted estimator that notes the form of every batch it is given."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            self.feature_names_in_ = model.feature_names_in_
        self.seen: list[tuple[type, tuple[int, ...]]] = []

    def predict_proba(self, X: Any) -> np.ndarray:
        self.seen.append((type(X), X.shape))
        return self.model.predict_proba(X)


def weights(exp: Explanation) -> list[tuple[str, float]]:
    return [(f.feature, f.weight) for f in exp.label().features]


def close(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """The same features in the same order, weights equal up to floating-point rounding."""
    assert [f for f, _ in got] == [f for f, _ in want]
    np.testing.assert_allclose([w for _, w in got], [w for _, w in want], rtol=1e-6)


def test_explainer_on_a_numpy_array_names_columns_and_gives_the_model_arrays(cancer) -> None:
    X = cancer["X"]
    model = Recording(cancer["numpy"])
    explainer = TabularExplainer(model, X, num_samples=N)
    assert explainer.feature_columns == [f"x{i}" for i in range(30)]  # scikit-learn's names
    exp = explainer.explain(X[7], seed=0)
    assert {t for t, _ in model.seen} == {np.ndarray}
    assert all(shape[1] == 30 for _, shape in model.seen)
    assert exp.prediction["probabilities"]["0"] == pytest.approx(
        cancer["numpy"].predict_proba(X[7:8])[0, 0]
    )
    # feature_names= names the columns; the model still gets arrays.
    named = TabularExplainer(model, X, feature_names=cancer["names"], num_samples=N)
    again = named.explain(X[7], seed=0)
    assert {t for t, _ in model.seen} == {np.ndarray}
    rename = dict(zip(explainer.feature_columns, cancer["names"], strict=True))
    assert [(rename[f], w) for f, w in weights(exp)] == weights(again)
    # A model fitted on a named DataFrame names the array's columns and gets DataFrames.
    by_model = Recording(cancer["named"])
    from_model = TabularExplainer(by_model, X, num_samples=N)
    assert from_model.feature_columns == cancer["names"]
    close(weights(from_model.explain(X[7], seed=0)), weights(again))  # another fit: rounding
    assert {t for t, _ in by_model.seen} == {pd.DataFrame}


def test_explain_tabular_on_pd_dataframe_of_x(cancer) -> None:
    X = cancer["X"]
    frame = pd.DataFrame(X)  # integer column labels 0..29
    exp = explain_tabular(cancer["int_frame"], frame, row=3, seed=1, num_samples=N)
    # Labels become their text; the numpy-fitted model, same row and seed: the same weights.
    from_numpy = explain_tabular(cancer["numpy"], X, row=3, seed=1, num_samples=N)
    close([(f"x{f}", w) for f, w in weights(exp)], weights(from_numpy))
    # One model, its data as numpy or as pd.DataFrame(X): identical explanations.
    same = explain_tabular(cancer["numpy"], frame, row=3, seed=1, num_samples=N)
    assert weights(same) == [(f.removeprefix("x"), w) for f, w in weights(from_numpy)]
    # A model fitted on a named DataFrame names pd.DataFrame(X)'s columns.
    named = explain_tabular(cancer["named"], frame, row=3, seed=1, num_samples=N)
    rename = {f"x{i}": name for i, name in enumerate(cancer["names"])}
    close(weights(named), [(rename[f], w) for f, w in weights(from_numpy)])


def test_lightgbm_fitted_on_pd_dataframe_of_x(cancer) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    frame = pd.DataFrame(cancer["X"])
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(frame, cancer["y"])
    exp = explain_tabular(model, frame, row=0, seed=0, num_samples=N)  # no feature-name warning
    assert exp.prediction["probabilities"]["1"] == pytest.approx(
        model.predict_proba(frame.iloc[:1])[0, 1]
    )


def test_explain_takes_a_row_in_every_form(cancer) -> None:
    X, names = cancer["X"], cancer["names"]
    explainer = TabularExplainer(cancer["numpy"], X, num_samples=N)
    reference = explainer.explain(X[11], seed=2).to_json()
    forms = {
        "1-D array": X[11],
        "list": X[11].tolist(),
        "(1, n) array": X[11:12],
        "Series of pd.DataFrame(X)": pd.DataFrame(X).iloc[11],
        "one-row DataFrame": pd.DataFrame(X[11:12]),
        "named Series": pd.Series(X[11], index=[f"x{i}" for i in range(30)]),
        "mapping": {f"x{i}": v for i, v in enumerate(X[11])},
    }
    for form, row in forms.items():
        assert explainer.explain(row, seed=2).to_json() == reference, form
    named = TabularExplainer(cancer["named"], pd.DataFrame(X, columns=names), num_samples=N)
    expected = named.explain(pd.DataFrame(X, columns=names).iloc[11], seed=2).to_json()
    assert named.explain(X[11], seed=2).to_json() == expected  # positional onto its columns
    assert named.explain(X[11].tolist(), seed=2).to_json() == expected


def test_explain_refuses_what_is_not_one_row(cancer) -> None:
    X = cancer["X"]
    explainer = TabularExplainer(cancer["numpy"], X, num_samples=N)
    cases = [
        (X[:2], "must be one row"),
        (pd.DataFrame(X[:2]), "must be one row"),
        (X[0][:5], r"one value per feature column \(30: x0, x1, .*Got 5 values"),
        ("x0=1", "must be a row"),
        (None, "must be a row"),
    ]
    for row, message in cases:
        with pytest.raises(ParameterError, match=message) as caught:
            explainer.explain(row)
        assert caught.value.parameters == ("instance",)


def test_explain_many_takes_a_dataframe_or_an_array(cancer) -> None:
    X = cancer["X"]
    explainer = TabularExplainer(cancer["numpy"], X, num_samples=N)
    one_by_one = [weights(explainer.explain(row, seed=4)) for row in X[:4]]

    def same(results: list[Explanation]) -> None:  # a shared pool: equal up to rounding
        assert len(results) == 4
        for got, want in zip(results, one_by_one, strict=True):
            close(weights(got), want)

    same(explainer.explain_many(X[:4], seed=4))
    same(explainer.explain_many(pd.DataFrame(X[:4]), seed=4))
    same(explainer.explain_many(pd.DataFrame(X[:4], columns=explainer.feature_columns), seed=4))
    same(explainer.explain_many([row.tolist() for row in X[:4]], seed=4))
    with pytest.raises(ParameterError, match="explain\\(\\) explains one row") as caught:
        explainer.explain_many(X[0])
    assert caught.value.parameters == ("instances",)
    with pytest.raises(ParameterError, match="must be rows"):
        explainer.explain_many(pd.Series(X[0]))


def test_sparse_training_and_rows_are_made_dense(cancer, monkeypatch) -> None:
    X = cancer["X"]
    dense = TabularExplainer(cancer["numpy"], X, num_samples=N)
    reference = dense.explain(X[5], seed=3).to_json()
    sparse = TabularExplainer(cancer["numpy"], sp.csr_matrix(X), num_samples=N)
    assert sparse.explain(sp.csr_matrix(X)[5], seed=3).to_json() == reference
    assert sparse.explain(sp.csr_array(X)[[5]], seed=3).to_json() == reference
    many = sparse.explain_many(sp.coo_matrix(X[4:7]), seed=3)
    expected = dense.explain(X[5], seed=3).as_list()
    assert [name for name, _ in many[1].as_list()] == [name for name, _ in expected]
    assert [w for _, w in many[1].as_list()] == pytest.approx([w for _, w in expected])
    exp = explain_tabular(cancer["numpy"], sp.csc_matrix(X), row=5, seed=3, num_samples=N)
    assert exp.to_json() == explain_tabular(cancer["numpy"], X, 5, seed=3, num_samples=N).to_json()
    # A model fitted on sparse input gets dense arrays, which scikit-learn estimators take.
    fitted_sparse = LogisticRegression(max_iter=5000).fit(
        sp.csr_matrix(X / X.max(axis=0)), cancer["y"]
    )
    scaled = sp.csr_matrix(X / X.max(axis=0))
    out = explain_tabular(fitted_sparse, scaled, row=0, seed=0, num_samples=N)
    assert out.prediction["probabilities"]["1"] == pytest.approx(
        fitted_sparse.predict_proba(scaled[0])[0, 1]
    )
    # Above the limit: one ParameterError naming the parameter.
    monkeypatch.setattr(frames, "MAX_DENSE_CELLS", 1000)
    with pytest.raises(ParameterError, match=r"at most 1,000 cells .*569 x 30 = 17,070") as caught:
        TabularExplainer(cancer["numpy"], sp.csr_matrix(X))
    assert caught.value.parameters == ("training",)
    # Rows are made dense one at a time: no limit for them.
    assert len(dense.explain_many(sp.csr_matrix(X[:40]), seed=3, num_samples=50)) == 40


def test_class_names_name_the_outputs(cancer) -> None:
    X, classes = cancer["X"], cancer["classes"]
    exp = explain_tabular(cancer["numpy"], X, 0, class_names=classes, seed=0, num_samples=N)
    assert exp.prediction["label"] == "malignant" and exp.label().label == "malignant"
    other = explain_tabular(
        cancer["numpy"], X, 0, class_names=classes, labels=["benign"], seed=0, num_samples=N
    )
    assert other.label().label == "benign"
    assert [w for _, w in weights(other)] == pytest.approx([-w for _, w in weights(exp)])
    # Multiclass, through the explainer.
    wine = load_wine()
    model = classifier().fit(wine.data, wine.target)
    explainer = TabularExplainer(model, wine.data, class_names=list(wine.target_names))
    three = explainer.explain(wine.data[70], top_labels=3, seed=0, num_samples=N)
    assert {lab.label for lab in three.labels} == set(wine.target_names)
    assert three.prediction["label"] == wine.target_names[model.predict(wine.data[70:71])[0]]
    # A Predictor passed in keeps its own names.
    predictor = Predictor(cancer["numpy"].predict_proba, mode="classification")
    TabularExplainer(predictor, X, class_names=classes, num_samples=N).explain(X[0], seed=0)
    assert predictor.class_names is None


def test_wrong_class_names_are_parameter_errors(cancer) -> None:
    X = cancer["X"]

    def callable_model(batch: Any) -> np.ndarray:  # its number of outputs shows when called
        return cancer["numpy"].predict_proba(batch)

    calls = {
        "count known up front": lambda: TabularExplainer(cancer["numpy"], X, class_names=["a"]),
        "count known on the first answer": lambda: TabularExplainer(
            callable_model, X, class_names=["a", "b", "c"], num_samples=50
        ).explain(X[0]),
        "regression": lambda: explain_tabular(
            cancer["numpy"], X, 0, mode="regression", class_names=["a", "b"]
        ),
        "repeated": lambda: TabularExplainer(cancer["numpy"], X, class_names=["a", "a"]),
        "not a list": lambda: TabularExplainer(cancer["numpy"], X, class_names="ab"),
    }
    for what, call in calls.items():
        with pytest.raises(ParameterError, match="The 'class_names' parameter must") as caught:
            call()
        assert caught.value.parameters == ("class_names",), what


def test_class_names_for_text_and_image_models() -> None:
    def text_model(texts: list[str]) -> np.ndarray:
        p = np.array([0.9 if "good" in t else 0.2 for t in texts])
        return np.column_stack([1 - p, p])

    exp = explain_text(text_model, "a good day", class_names=["neg", "pos"], num_samples=100)
    assert exp.prediction["label"] == "pos"

    def image_model(batch: np.ndarray) -> np.ndarray:
        p = np.clip((np.asarray(batch, dtype=float)[:, :8, :8, :] ** 2).mean(axis=(1, 2, 3)), 0, 1)
        return np.column_stack([1 - p, p])

    image = np.random.default_rng(1).uniform(0, 1, (16, 16, 3))
    segments = np.repeat(np.repeat(np.arange(16).reshape(4, 4), 4, axis=0), 4, axis=1)
    shown = explain_image(
        image_model, image, segments=segments, class_names=["dark", "light"], num_samples=50
    )
    assert {lab.label for lab in shown.labels} == {"dark", "light"}
    with pytest.raises(ParameterError) as caught:
        explain_text(text_model, "a good day", class_names=["pos"], num_samples=50)
    assert caught.value.parameters == ("class_names",)


def test_a_planted_driver_ranks_first() -> None:
    diabetes = load_diabetes()
    X = diabetes.data
    rng = np.random.default_rng(0)
    y = np.where(X[:, 3] > 0, 100.0, 0.0) + rng.normal(0, 1, len(X))  # column 3 ("bp") only
    model = RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    names = [str(n) for n in diabetes.feature_names]
    for row in (0, 1, 2, 3):
        exp = explain_tabular(model, X, row, feature_names=names, seed=0, num_samples=N)
        top = exp.label().features[0]
        assert top.feature == "bp" and abs(top.weight) > 50
    exp = explain_tabular(model, pd.DataFrame(X), 0, seed=0, num_samples=N)
    assert exp.label().features[0].feature == "3"


def test_categorical_columns_reach_the_model_in_its_own_layout() -> None:
    # Penguin-like mixed data from the wine set: a text column beside numbers.
    wine = load_wine()
    rng = np.random.default_rng(1)
    colour = rng.choice(["red", "white"], size=len(wine.target))
    mixed = np.empty((len(colour), 3), dtype=object)
    mixed[:, 0], mixed[:, 1], mixed[:, 2] = wine.data[:, 0], wine.data[:, 9], colour
    y = (colour == "red").astype(int)
    encoder = ColumnTransformer([("colour", OneHotEncoder(), [2])], remainder="passthrough")
    on_array = make_pipeline(encoder, LogisticRegression(max_iter=2000)).fit(mixed, y)
    exp = explain_tabular(on_array, mixed, 0, seed=0, num_samples=N)
    assert exp.label().features[0].feature == "x2"  # the colour decides
    frame = pd.DataFrame(mixed).infer_objects()  # integer labels, an object column
    on_frame = make_pipeline(encoder, LogisticRegression(max_iter=2000)).fit(frame, y)
    again = explain_tabular(on_frame, frame, 0, seed=0, num_samples=N)
    assert [f for f, _ in weights(again)] == [f.removeprefix("x") for f, _ in weights(exp)]
    # Integer labels name the target and categorical columns too.
    with_target = frame.assign(**{"3": y}).rename(columns={"3": 3})
    by_label = explain_tabular(
        on_frame, with_target, 0, target=3, categorical=[2], seed=0, num_samples=N
    )
    assert by_label.to_dict()["labels"] == again.to_dict()["labels"]


def test_array_data_with_named_training(cancer) -> None:
    X, names = cancer["X"], cancer["names"]
    train = pd.DataFrame(X, columns=names)
    exp = explain_tabular(cancer["named"], X[:10], 4, training=train, seed=0, num_samples=N)
    direct = explain_tabular(cancer["named"], train, 4, seed=0, num_samples=N)
    assert exp.label().features == direct.label().features
    # A pyarrow Table (as a polars DataFrame) converts itself to pandas.
    pyarrow = pytest.importorskip("pyarrow")
    table = pyarrow.Table.from_pandas(train)
    assert explain_tabular(cancer["named"], table, 4, seed=0, num_samples=N).to_json() == (
        direct.to_json()
    )


@pytest.mark.parametrize(
    ("call", "parameter", "message"),
    [
        (lambda c: TabularExplainer(c["numpy"], c["X"][:, 0]), "training", "X.reshape"),
        (lambda c: TabularExplainer(c["numpy"], pd.Series(c["X"][:, 0])), "training", "Series"),
        (lambda c: TabularExplainer(c["numpy"], None), "training", "Got NoneType"),
        (lambda c: TabularExplainer(c["numpy"], c["X"][None]), "training", "2-D"),
        (lambda c: explain_tabular(c["numpy"], 3.0, 0), "data", "Got float"),
        (
            lambda c: TabularExplainer(c["numpy"], c["X"], feature_names=["a"]),
            "feature_names",
            "30",
        ),
        (
            lambda c: TabularExplainer(
                c["named"],
                pd.DataFrame(c["X"], columns=c["names"]),
                feature_names=list("abcdefghijklmnopqrstuvwxyz1234"),
            ),
            "feature_names",
            "df.columns",
        ),
        (lambda c: TabularExplainer(c["numpy"], c["X"], target=30), "target", "Got 30"),
        (lambda c: TabularExplainer(c["numpy"], c["X"], categorical=[99]), "categorical", "99"),
        (
            lambda c: TabularExplainer(c["numpy"], pd.DataFrame(c["X"]).set_axis([0] * 30, axis=1)),
            "training",
            "unique column names",
        ),
    ],
)
def test_wrong_inputs_give_one_parameter_error(cancer, call, parameter, message) -> None:
    with pytest.raises(ParameterError, match=message) as caught:
        call(cancer)
    assert caught.value.parameters == (parameter,)
    assert str(caught.value).startswith(f"The '{parameter}' parameter must")

"""What a model's answer means: probabilities, class labels or values (limecli.model.answers).

Real data from scikit-learn (wine, diabetes): a predict script returning class
numbers or class names is classification of hard labels (one-hot, with a
warning), and finds the same main driver as the same model's probabilities; a
LightGBM Booster's probabilities are classification without options; a
regressor's whole-number floats stay a regression; 'mode' overrides both ways,
and no message sends the user to the mode just tried.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from limecli import explain_tabular
from limecli.errors import LimeCliError, PredictorCallError, PredictorOutputError
from limecli.model.predictor import ClassLabelsWarning, Predictor, one_line
from limecli.model.wrap import wrap_model

FAST = ("--num-samples", "300", "--num-features", "4", "--seed", "0")

SCRIPT = """
from pathlib import Path

import joblib
import numpy as np

HERE = Path(__file__).parent
WINE = joblib.load(HERE / "wine.joblib")
COUNTS = joblib.load(HERE / "counts.joblib")
BOOSTER = joblib.load(HERE / "booster.joblib")
NAMES = np.array(["barolo", "grignolino", "barbera"])


def labels(batch):
    return WINE.predict(np.asarray(batch, dtype=float))


def names(batch):
    return NAMES[labels(batch)]


def proba(batch):
    return WINE.predict_proba(np.asarray(batch, dtype=float))


def booster(batch):
    return BOOSTER.predict(np.asarray(batch, dtype=float))


def counts(batch):
    return np.round(COUNTS.predict(np.asarray(batch, dtype=float)))


def int_counts(batch):
    return counts(batch).astype(np.int64)


def fails(batch):
    raise RuntimeError(
        "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: x\\n"
        " index: 1 Got: 48 Expected: 3\\n"
        " Please fix either the inputs or the model."
    )
"""


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Models and data, built once: wine (classification) and diabetes (regression)."""
    root = tmp_path_factory.mktemp("interpretation")
    wine = load_wine(as_frame=True)
    X = wine.data
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    classifier.fit(X.to_numpy(), wine.target.to_numpy())
    joblib.dump(classifier, root / "wine.joblib")
    X.to_csv(root / "wine.csv", index=False)
    joblib.dump(RidgeClassifier().fit(X.to_numpy(), wine.target.to_numpy()), root / "ridge.joblib")

    diabetes = load_diabetes(as_frame=True, scaled=False)
    counts = DecisionTreeRegressor(max_depth=4, random_state=0)
    counts.fit(diabetes.data.to_numpy(), diabetes.target.to_numpy())
    joblib.dump(counts, root / "counts.joblib")
    diabetes.data.to_csv(root / "diabetes.csv", index=False)
    (root / "models.py").write_text(SCRIPT)

    lightgbm = pytest.importorskip("lightgbm")
    booster = lightgbm.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_leaves": 7},
        lightgbm.Dataset(X.to_numpy(), wine.target.to_numpy(), params={"min_data_in_leaf": 5}),
        num_boost_round=20,
    )
    joblib.dump(booster, root / "booster.joblib")
    confident = int(np.argmax(classifier.predict_proba(X.to_numpy()).max(axis=1)))
    return {
        "root": root,
        "wine": X,
        "classifier": classifier,
        "booster": booster,
        "confident": confident,
    }


def script(made: dict[str, Any], function: str) -> str:
    return f"{made['root'] / 'models.py'}:{function}"


def wine_csv(made: dict[str, Any]) -> Path:
    return Path(made["root"] / "wine.csv")


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning: ")]


def top(record: dict[str, Any]) -> tuple[str, float]:
    feature = record["labels"][0]["features"][0]
    return feature["feature"], feature["weight"]


# -- class labels from a predict script --------------------------------------------------------
def test_class_numbers_are_explained_as_classification(run_cli, made) -> None:
    row = made["confident"]
    args = (wine_csv(made), "--row", row, *FAST)
    hard = run_cli("tabular", script(made, "labels"), *args)
    assert hard.exit_code == 0, hard.stderr
    record = json.loads(hard.stdout)
    assert record["mode"] == "classification"
    predicted = str(made["classifier"].predict(made["wine"].to_numpy()[[row]])[0])
    assert record["prediction"]["label"] == predicted
    assert record["prediction"]["probabilities"] == {
        c: float(c == predicted) for c in ("0", "1", "2")
    }
    assert [label["label"] for label in record["labels"]] == [predicted]
    (note,) = warnings_of(hard.stderr)
    assert "answers with class labels, not probabilities" in note
    assert "smoother explanation" in note and "(0, 1, 2)" in note

    # Ground truth: on a row the model is sure of, its probabilities and its hard labels
    # move with the same main driver, in the same direction.
    soft = run_cli("tabular", script(made, "proba"), *args)
    assert soft.exit_code == 0 and warnings_of(soft.stderr) == []
    soft_top, hard_top = top(json.loads(soft.stdout)), top(record)
    assert hard_top[0] == soft_top[0] == "proline"
    assert np.sign(hard_top[1]) == np.sign(soft_top[1])


def test_class_name_strings_are_the_labels(run_cli, made) -> None:
    result = run_cli("tabular", script(made, "names"), wine_csv(made), "--row", 0, *FAST)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["mode"] == "classification"
    assert record["prediction"]["label"] == "barolo"  # wine row 0 is class 0
    assert record["labels"][0]["label"] == "barolo"
    assert "answers with class labels" in warnings_of(result.stderr)[0]
    # Not whole numbers: no hint that they might be values.
    assert "'mode'" not in warnings_of(result.stderr)[0]


def test_class_names_name_class_numbers_and_every_class_is_a_column(run_cli, made) -> None:
    result = run_cli(
        "tabular",
        script(made, "labels"),
        wine_csv(made),
        "--row",
        0,
        "--class-names",
        "barolo,grignolino,barbera",
        "--top-labels",
        "3",
        *FAST,
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["prediction"]["label"] == "barolo"
    assert set(record["prediction"]["probabilities"]) == {"barolo", "grignolino", "barbera"}
    assert {label["label"] for label in record["labels"]} == {"barolo", "grignolino", "barbera"}
    # The classes are named, so the note does not say they were guessed from an answer.
    assert "first answer" not in warnings_of(result.stderr)[0]


def test_the_python_api_explains_labels_with_the_same_driver(made) -> None:
    model, X, row = made["classifier"], made["wine"], made["confident"]

    def labels(batch: Any) -> np.ndarray:
        return model.predict(np.asarray(batch, dtype=float))

    with pytest.warns(ClassLabelsWarning, match="smoother explanation"):
        hard = explain_tabular(labels, X, row, seed=0, num_samples=300, num_features=4)
    soft = explain_tabular(model, X, row, seed=0, num_samples=300, num_features=4)
    assert hard.mode == soft.mode == "classification"
    assert hard.prediction["label"] == soft.prediction["label"]
    assert hard.labels[0].features[0].feature == soft.labels[0].features[0].feature
    assert np.sign(hard.labels[0].features[0].weight) == np.sign(soft.labels[0].features[0].weight)


def test_a_classifier_without_predict_proba_is_explained_by_its_labels(run_cli, made) -> None:
    ridge = made["root"] / "ridge.joblib"
    for mode in ((), ("--mode", "classification")):
        result = run_cli("tabular", ridge, wine_csv(made), "--row", 0, *FAST, *mode)
        assert result.exit_code == 0, result.stderr
        record = json.loads(result.stdout)
        assert record["mode"] == "classification" and record["prediction"]["label"] == "0"
        # Its classes come from classes_: nothing guessed, nothing to hint.
        (note,) = warnings_of(result.stderr)
        assert "first answer" not in note and "'mode'" not in note


# -- probabilities from any method ---------------------------------------------------------------
def test_a_lightgbm_booster_returning_probabilities_is_classification(run_cli, made) -> None:
    booster = made["root"] / "booster.joblib"
    for mode in ((), ("--mode", "classification")):
        result = run_cli("tabular", booster, wine_csv(made), "--row", 0, *FAST, *mode)
        assert result.exit_code == 0, result.stderr
        record = json.loads(result.stdout)
        assert record["mode"] == "classification"
        assert record["prediction"]["label"] == "0"
        assert sum(record["prediction"]["probabilities"].values()) == pytest.approx(1.0)
        assert warnings_of(result.stderr) == []  # probabilities: nothing to say
    # From Python, the Booster itself (its predict gives the probabilities).
    explained = explain_tabular(
        made["booster"], made["wine"], 0, seed=0, num_samples=300, num_features=4
    )
    assert explained.mode == "classification" and explained.prediction["label"] == "0"


# -- values --------------------------------------------------------------------------------------
def test_whole_number_floats_stay_a_regression(run_cli, made) -> None:
    data = made["root"] / "diabetes.csv"
    result = run_cli("tabular", script(made, "counts"), data, "--row", 0, *FAST)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["mode"] == "regression"
    value = record["prediction"]["value"]
    assert value == round(value) and value > 2  # a count, not a class
    assert warnings_of(result.stderr) == []


def test_mode_overrides_both_ways(run_cli, made) -> None:
    data = made["root"] / "diabetes.csv"
    # An integer dtype is read as classes, and the note offers the way out ...
    guessed = run_cli("tabular", script(made, "int_counts"), data, "--row", 0, *FAST)
    assert guessed.exit_code == 0, guessed.stderr
    assert json.loads(guessed.stdout)["mode"] == "classification"
    assert "if these whole numbers are values, not classes" in warnings_of(guessed.stderr)[0]
    # ... which 'mode' regression takes: the same answers explained as values.
    forced = run_cli(
        "tabular", script(made, "int_counts"), data, "--row", 0, *FAST, "--mode", "regression"
    )
    assert forced.exit_code == 0, forced.stderr
    as_values = json.loads(forced.stdout)
    assert as_values["mode"] == "regression" and warnings_of(forced.stderr) == []
    # And the other way: whole-number floats forced to classification are class labels.
    labels = run_cli(
        "tabular", script(made, "counts"), data, "--row", 0, *FAST, "--mode", "classification"
    )
    assert labels.exit_code == 0, labels.stderr
    as_labels = json.loads(labels.stdout)
    assert as_labels["mode"] == "classification"
    assert float(as_labels["prediction"]["label"]) == as_values["prediction"]["value"]
    # Class numbers forced to regression are numbers.
    numbers = run_cli(
        "tabular", script(made, "labels"), wine_csv(made), "--row", 0, *FAST, "--mode", "regression"
    )
    assert numbers.exit_code == 0, numbers.stderr
    assert json.loads(numbers.stdout)["prediction"] == {"value": 0.0}


# -- no message sends the user round in a loop --------------------------------------------------
SUGGESTION = re.compile(r"(?:--mode|'mode') (classification|regression)")


def _walk(run_cli, model: Any, data: Path, start: str | None) -> list[tuple[str | None, str]]:
    """Follow each message's advice on 'mode' from ``start``; the steps taken."""
    mode, tried, steps = start, set(), []
    while True:
        result = run_cli(
            "tabular", model, data, "--row", 0, *FAST, *(("--mode", mode) * bool(mode))
        )
        lines = [line for line in result.stderr.splitlines() if "mode" in line]
        steps.append((mode, result.stderr))
        tried.add(mode)
        if result.exit_code == 0:
            return steps
        advice = {m for line in lines for m in SUGGESTION.findall(line)}
        assert not advice & {m for m in tried if m}, f"sent back to a mode tried: {steps}"
        assert len(advice) == 1, f"an error with no way on: {steps}"
        mode = advice.pop()


@pytest.mark.parametrize("start", [None, "classification", "regression"])
def test_mode_messages_never_loop(run_cli, made, start: str | None) -> None:
    from conftest import SAMPLE_DATA, SAMPLE_MODELS

    cases = [
        (made["root"] / "booster.joblib", wine_csv(made)),
        (script(made, "booster"), wine_csv(made)),
        (script(made, "labels"), wine_csv(made)),
        (script(made, "names"), wine_csv(made)),
        (script(made, "proba"), wine_csv(made)),
        (made["root"] / "ridge.joblib", wine_csv(made)),
        (script(made, "counts"), made["root"] / "diabetes.csv"),
        (SAMPLE_MODELS / "diabetes_rf.joblib", SAMPLE_DATA / "diabetes_test.csv"),
    ]
    advised = 0
    for model, data in cases:
        steps = _walk(run_cli, model, data, start)
        assert len(steps) <= 2, steps  # at most one piece of advice, and it works
        advised += len(steps) - 1
    # Forced the wrong way, each is refused with advice that was followed above: the
    # regressor in classification mode; the class names and the two probability scripts
    # (Booster, predict_proba) in regression mode.
    assert advised == {None: 0, "classification": 1, "regression": 3}[start]


def test_the_two_messages_of_the_issue_no_longer_point_at_each_other(run_cli, made) -> None:
    """A Booster's 3 probability columns (its predict in a script): fine without 'mode' and
    with classification; with regression, the message names classification, never regression."""
    booster = script(made, "booster")
    for mode in ((), ("--mode", "classification")):
        ok = run_cli("tabular", booster, wine_csv(made), "--row", 0, *FAST, *mode)
        assert ok.exit_code == 0, ok.stderr
        assert json.loads(ok.stdout)["mode"] == "classification"
    forced = run_cli("tabular", booster, wine_csv(made), "--row", 0, *FAST, "--mode", "regression")
    assert forced.exit_code == 5
    (error,) = [line for line in forced.stderr.splitlines() if line.startswith("Error: ")]
    assert "3 columns in regression mode (--mode)" in error
    assert "--mode classification" in error and "--mode regression" not in error
    # The other message of the issue ("no predict_proba ... use --mode regression") is gone:
    # classification works for the Booster and for any predict-only classifier.
    for model in (made["root"] / "booster.joblib", made["root"] / "ridge.joblib"):
        ok = run_cli(
            "tabular", model, wine_csv(made), "--row", 0, *FAST, "--mode", "classification"
        )
        assert ok.exit_code == 0, ok.stderr
        assert "regression" not in ok.stderr and "Error" not in ok.stderr


# -- errors from the model, whole -----------------------------------------------------------------
def test_a_model_error_reaches_the_user_whole_on_one_line(run_cli, made) -> None:
    result = run_cli("tabular", script(made, "fails"), wine_csv(made), "--row", 0, *FAST)
    assert result.exit_code == 5
    error = result.stderr.strip().splitlines()[-1]
    assert error == (
        f"Error: the model {script(made, 'fails')} raised RuntimeError: [ONNXRuntimeError] : 2 : "
        "INVALID_ARGUMENT : Got invalid dimensions for input: x / index: 1 Got: 48 Expected: 3 / "
        "Please fix either the inputs or the model."
    )


def test_one_line_joins_lines_and_caps_long_messages() -> None:
    assert one_line("  first\n\n  second \r\nthird  ") == "first / second / third"
    long = one_line("word " * 500)
    assert len(long) == 400 and long.endswith("...")
    assert one_line("") == ""

    def boom(batch: Any) -> Any:
        raise ValueError("x" * 1000)

    with pytest.raises(PredictorCallError) as caught:
        Predictor(boom, mode=None)(np.zeros((2, 1)))
    assert str(caught.value).endswith("...") and len(str(caught.value)) < 500


# -- the Predictor's rules, one by one ------------------------------------------------------------
def _predictor(answer: Any, **kwargs: Any) -> Predictor:
    return Predictor(lambda batch: answer(len(batch)), **{"mode": None, **kwargs})


def test_one_column_of_probabilities_in_classification_mode_is_the_second_class() -> None:
    predictor = _predictor(lambda n: np.full(n, 0.25), mode="classification")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a probability: no note
        out = predictor(np.zeros((3, 1)))
    assert out.tolist() == [[0.75, 0.25]] * 3
    assert predictor.output_names(2) == ["0", "1"]
    # Without 'mode', floats in one column are a regression.
    values = _predictor(lambda n: np.full(n, 0.25))
    assert values(np.zeros((2, 1))).tolist() == [[0.25], [0.25]] and values.mode == "regression"


def test_labels_find_their_columns_by_class_or_name() -> None:
    answer = lambda n: np.array([2, 0, 1, 2])[:n]  # noqa: E731
    with pytest.warns(ClassLabelsWarning):
        by_number = _predictor(answer, class_names=["a", "b", "c"])
        assert by_number(np.zeros((4, 1))).argmax(axis=1).tolist() == [2, 0, 1, 2]
    with pytest.warns(ClassLabelsWarning):
        by_class = _predictor(answer, classes=[2, 1, 0], class_names=["two", "one", "zero"])
        assert by_class(np.zeros((4, 1))).argmax(axis=1).tolist() == [0, 2, 1, 0]
    with pytest.warns(ClassLabelsWarning):
        booleans = _predictor(lambda n: np.arange(n) % 2 == 0)
        assert booleans(np.zeros((3, 1))).tolist() == [[0, 1], [1, 0], [0, 1]]
        assert booleans.output_names(2) == ["False", "True"]


def test_a_label_outside_declared_classes_is_an_error() -> None:
    predictor = _predictor(lambda n: np.array(["cat"] * n), class_names=["dog", "bird"])
    with warnings.catch_warnings(), pytest.raises(PredictorOutputError) as caught:
        warnings.simplefilter("ignore")
        predictor(np.zeros((2, 1)))
    assert str(caught.value).endswith(
        "returned class label 'cat', which is not one of its 2 classes named by 'class_names' "
        "(dog, bird)"
    )
    assert caught.value.parameters == ("class_names",)


def test_a_label_first_seen_later_is_not_explained_and_said_once() -> None:
    answers = iter([np.array([0, 1, 0]), np.array([0, 2, 2]), np.array([2, 2, 2])])
    predictor = Predictor(lambda batch: next(answers), mode=None)
    with pytest.warns(ClassLabelsWarning, match=r"first answer \(0, 1\)"):
        predictor(np.zeros((3, 1)))
    with pytest.warns(ClassLabelsWarning, match=r"class label\(s\) 2 not seen") as caught:
        later = predictor(np.zeros((3, 1)))
    assert len(caught) == 1 and later.tolist() == [[1, 0], [0, 0], [0, 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        predictor(np.zeros((3, 1)))


def test_learned_classes_travel_with_a_pickled_predictor() -> None:
    predictor = wrap_model(_Labels(), source="labels")
    with pytest.warns(ClassLabelsWarning):
        predictor(np.zeros((3, 1)))
    again = pickle.loads(pickle.dumps(predictor))
    assert again.classes == ["x", "y"] and again.returns_labels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the note was given before pickling
        assert again(np.zeros((2, 1))).tolist() == [[1, 0], [0, 1]]


class _Labels:
    """A model with only ``predict``, answering text labels (picklable: module level)."""

    def predict(self, batch: Any) -> np.ndarray:
        return np.array(["x", "y", "x"])[: len(batch)]


@pytest.mark.parametrize(
    ("answer", "mode", "fragment", "parameters"),
    [
        (lambda n: np.full(n, 3.7), "classification", "neither class labels", ("mode",)),
        (lambda n: np.array(["a"] * n), "regression", "'mode' classification explains", ("mode",)),
        (lambda n: np.zeros((n, 3)), "regression", "'mode' classification to explain", ("mode",)),
        (lambda n: [None] * n, None, "NaN or infinite", ()),
        (lambda n: pd.Series([[1, 2], [3]] * n), None, "not an array of numbers", ()),
    ],
)
def test_refused_answers_name_what_would_work(answer, mode, fragment, parameters) -> None:
    with pytest.raises(LimeCliError) as caught:
        _predictor(answer, mode=mode)(np.zeros((2, 1)))
    assert fragment in str(caught.value) and caught.value.parameters == parameters
    if mode is not None:
        assert f"'mode' {mode}" not in str(caught.value)  # never the mode just tried

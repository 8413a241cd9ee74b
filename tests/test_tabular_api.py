"""Tabular LIME through the Python API, on models whose true drivers are known."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from limecli import (
    Explanation,
    InputDataError,
    ParameterError,
    TabularExplainer,
    explain_tabular,
    load_model,
    wrap_model,
)
from limecli.sampling.discretize import BinnedColumn

BREAST_TEST = SAMPLE_DATA / "breast_cancer_test.csv"
BREAST_TRAIN = SAMPLE_DATA / "breast_cancer_train.csv"


@pytest.fixture(scope="module")
def synthetic() -> tuple[LogisticRegression, pd.DataFrame]:
    """A label that depends only on x0, x1 and x2; x3..x7 are noise."""
    rng = np.random.default_rng(42)
    frame = pd.DataFrame(rng.normal(size=(3000, 8)), columns=[f"x{i}" for i in range(8)])
    logit = 3 * frame.x0 - 3 * frame.x1 + 3 * frame.x2
    frame["y"] = (logit + rng.normal(0, 0.5, len(frame)) > 0).astype(int)
    model = LogisticRegression().fit(frame.drop(columns="y"), frame.y)
    return model, frame


def test_seed_example_breast_cancer_row_12() -> None:
    predictor = load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    exp = explain_tabular(predictor, BREAST_TEST, 12, training=BREAST_TRAIN, seed=0)
    assert exp.prediction["label"] == "malignant"
    assert exp.prediction["probabilities"]["malignant"] == pytest.approx(0.94)
    label = exp.label()
    assert label.label == "malignant"  # the predicted class, not "label 1"
    assert len(label.features) == 10
    top = label.features[:4]
    assert all(f.feature.startswith("worst") for f in top)
    area = next(f for f in label.features if f.feature == "worst area")
    assert area.name.startswith("worst area > ") and area.weight > 0.05
    assert area.value == pytest.approx(1956.0)
    assert 0 < label.score < 1
    # The instance's own value satisfies its condition.
    threshold = float(area.name.split("> ")[1])
    assert area.value > threshold


def test_explaining_the_other_label_flips_the_signs() -> None:
    predictor = load_model(SAMPLE_MODELS / "breast_cancer_rf.joblib")
    exp = explain_tabular(
        predictor, BREAST_TEST, 12, training=BREAST_TRAIN, seed=0, top_labels=2, num_samples=2000
    )
    assert [lab.label for lab in exp.labels] == ["malignant", "benign"]
    malignant, benign = exp.labels
    # Per-label results are kept (the reference overwrites score/local prediction).
    assert malignant.local_prediction + benign.local_prediction == pytest.approx(1.0)
    weights_b = {f.name: f.weight for f in benign.features}
    for f in malignant.features:
        assert weights_b[f.name] == pytest.approx(-f.weight)


def test_ground_truth_top3_are_the_true_drivers(synthetic) -> None:
    model, frame = synthetic
    explainer = TabularExplainer(model, frame, target="y", num_samples=2000, num_features=3)
    hits = 0
    for row in range(50):
        exp = explainer.explain(frame.iloc[row], seed=row)
        hits += {f.feature for f in exp.label().features} == {"x0", "x1", "x2"}
    assert hits >= 48  # at least 95% of 50 rows


def test_regression_reports_the_value() -> None:
    predictor = load_model(SAMPLE_MODELS / "diabetes_rf.joblib")
    test = pd.read_csv(SAMPLE_DATA / "diabetes_test.csv")
    exp = explain_tabular(
        predictor, test, 3, training=SAMPLE_DATA / "diabetes_train.csv", seed=0, num_features=5
    )
    assert exp.mode == "regression"
    expected = predictor.fn(test.drop(columns="progression").iloc[[3]])[0]
    assert exp.prediction == {"value": pytest.approx(expected)}
    label = exp.label()
    assert label.label == "prediction"
    assert label.model_prediction == pytest.approx(expected)
    assert len(label.features) == 5
    assert "progression" not in {f.feature for f in label.features}


def test_categorical_pipeline_finds_its_true_drivers() -> None:
    predictor = load_model(SAMPLE_MODELS / "loans_pipeline.joblib")
    train = pd.read_csv(SAMPLE_DATA / "loans_train.csv")
    test = pd.read_csv(SAMPLE_DATA / "loans_test.csv")
    explainer = TabularExplainer(predictor, train, num_samples=2000)
    assert explainer.dropped_columns == ["decision"]
    drivers = {"income", "debt_ratio", "employment"}
    for row in range(20):
        exp = explainer.explain(test.iloc[row], seed=row)
        features = exp.label().features
        assert {f.feature for f in features[:2]} <= drivers
        # "self-employed" sits near the average employment effect, so locally it
        # carries little weight; the other two categories must rank in the top 3.
        if test.employment[row] != "self-employed":
            assert {f.feature for f in features[:3]} == drivers
        employment = next(f for f in features if f.feature == "employment")
        assert employment.name == f"employment={test.employment[row]}"
        assert employment.value == test.employment[row]
    assert exp.params["categorical_features"] == ["employment", "region"]


@pytest.mark.parametrize("discretizer", ["quartile", "decile", "entropy", None])
def test_every_discretizer_finds_the_drivers(synthetic, discretizer) -> None:
    model, frame = synthetic
    exp = explain_tabular(
        model,
        frame,
        5,
        target="y",
        discretizer=discretizer,
        num_features=3,
        seed=1,
        num_samples=3000,
    )
    assert {f.feature for f in exp.label().features} == {"x0", "x1", "x2"}
    names = [f.name for f in exp.label().features]
    if discretizer is None:
        assert sorted(names) == ["x0", "x1", "x2"]
    else:
        assert all(("<" in n) or (">" in n) for n in names)


def test_same_seed_same_explanation_different_seed_different_samples(synthetic) -> None:
    model, frame = synthetic
    a = explain_tabular(model, frame, 0, target="y", seed=7, num_samples=500)
    b = explain_tabular(model, frame, 0, target="y", seed=7, num_samples=500)
    c = explain_tabular(model, frame, 0, target="y", seed=8, num_samples=500)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()


def test_multiclass_scores_are_kept_per_label() -> None:
    iris = load_iris(as_frame=True)
    model = LogisticRegression(max_iter=500).fit(iris.data, iris.target_names[iris.target])
    exp = explain_tabular(model, iris.data, 60, top_labels=3, seed=0, num_samples=2000)
    assert len(exp.labels) == 3
    assert exp.labels[0].label == exp.prediction["label"]
    assert len({round(lab.score, 6) for lab in exp.labels}) == 3
    for lab in exp.labels:
        assert lab.model_prediction == pytest.approx(exp.prediction["probabilities"][lab.label])


def test_bin_with_equal_min_and_max_undiscretizes_to_the_real_value() -> None:
    # Bin 0 (<= 5) holds only the value 5.0: sampling from it must give 5.0, not a z-score.
    from limecli.sampling.bin_table import BinTable

    column = BinnedColumn(np.array([5.0]), np.array([5.0, 5.0, 5.0, 7.0, 9.0]))
    bins, values = BinTable([column]).draw(2000, np.random.default_rng(0))
    np.testing.assert_array_equal(values[bins == 0], 5.0)
    upper = values[bins == 1]
    assert upper.min() >= 7.0 and upper.max() <= 9.0 and upper.std() > 0


def test_json_round_trip(synthetic) -> None:
    model, frame = synthetic
    exp = explain_tabular(model, frame, 0, target="y", seed=0, num_samples=300)
    again = Explanation.from_json(exp.to_json())
    assert again.to_json() == exp.to_json()
    assert again.as_list() == exp.as_list()


def test_parameter_errors_use_one_uniform_message(synthetic) -> None:
    model, frame = synthetic
    with pytest.raises(
        ParameterError, match=r"The 'num_samples' parameter must be an int >= 2\. Got -3 instead\."
    ):
        explain_tabular(model, frame, 0, target="y", num_samples=-3)
    with pytest.raises(ParameterError, match="'feature_selection' parameter must be one of"):
        explain_tabular(model, frame, 0, target="y", feature_selection="best")
    with pytest.raises(ParameterError, match="unknown label 'dog'"):
        explain_tabular(model, frame, 0, target="y", labels=["dog"], num_samples=50)


def test_row_out_of_range_and_missing_columns(synthetic) -> None:
    model, frame = synthetic
    with pytest.raises(InputDataError, match="row 3000 is out of range"):
        explain_tabular(model, frame, 3000, target="y")
    with pytest.raises(InputDataError, match="lacks 1 column"):
        explain_tabular(model, frame.drop(columns="x4"), 0, target="y")


def test_predictor_with_script_entrypoint_pickles(tmp_path) -> None:
    script = tmp_path / "predict.py"
    script.write_text(
        "import numpy as np\n"
        "CLASS_NAMES = ['low', 'high']\n"
        "def predict(batch):\n"
        "    p = 1 / (1 + np.exp(-np.asarray(batch, dtype=float)[:, 0]))\n"
        "    return np.column_stack([1 - p, p])\n"
    )
    predictor = load_model(f"{script}:predict")
    assert predictor.class_names == ["low", "high"]
    clone = pickle.loads(pickle.dumps(predictor))
    batch = np.array([[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(clone(batch), predictor(batch))


def test_wrap_model_accepts_plain_estimators_and_callables(synthetic) -> None:
    model, _ = synthetic
    assert wrap_model(model).mode == "classification"
    assert wrap_model(model).feature_names == [f"x{i}" for i in range(8)]
    fn = wrap_model(lambda batch: np.asarray(batch)[:, :1])
    assert fn(np.ones((3, 2))).shape == (3, 1)
    assert fn.mode == "regression"


def test_bin_values_follow_the_truncated_normal() -> None:
    from scipy.stats import kstest, truncnorm

    from limecli.sampling.bin_table import BinTable

    rng = np.random.default_rng(5)
    training = rng.gamma(2.0, 3.0, size=4000)  # skewed: bins sit off their own means
    column = BinnedColumn(np.percentile(training, [25, 50, 75]), training)
    table = BinTable([column])
    bins, values = table.draw(200_000, np.random.default_rng(6))
    for b in range(4):
        got = values[bins[:, 0] == b, 0]
        m, s, lo, hi = column.means[b], column.stds[b], column.mins[b], column.maxs[b]
        expected = truncnorm((lo - m) / s, (hi - m) / s, loc=m, scale=s)
        assert got.min() >= lo and got.max() <= hi
        assert got.mean() == pytest.approx(
            expected.mean(), abs=4 * expected.std() / np.sqrt(got.size)
        )
        assert got.std() == pytest.approx(expected.std(), rel=0.03)
        # The tabulated quantile function: no detectable difference from the exact law.
        assert kstest(got, expected.cdf).pvalue > 1e-3
    # Bins are drawn with the training frequencies.
    np.testing.assert_allclose(np.bincount(bins[:, 0]) / bins.shape[0], column.freqs, atol=0.005)


def test_script_predictor_unpickles_from_another_folder(tmp_path, monkeypatch) -> None:
    (tmp_path / "scorer.py").write_text(
        "import numpy as np\ndef predict(batch):\n    return np.asarray(batch, dtype=float)[:, :1]\n"
    )
    monkeypatch.chdir(tmp_path)
    predictor = load_model("scorer.py:predict")  # relative, as a user types it
    assert predictor.source == "scorer.py:predict"
    blob = pickle.dumps(predictor)
    monkeypatch.chdir(tmp_path.parent)  # a worker started elsewhere
    clone = pickle.loads(blob)
    np.testing.assert_allclose(clone(np.array([[2.0, 1.0]])), [[2.0]])

"""Missing values as a state of their own: sampled at their training rate, named "<col> is missing".

Ground truth: a label that depends only on whether ``x`` is missing makes
"x is missing" the top feature (API and CLI, from a CSV with empty cells);
penguin rows with gaps are explained by an imputing pipeline and by
HistGradientBoosting; a model that cannot take NaN gets one clear error after
a one-row probe, before any sampling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import palmerpenguins
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from limecli import TabularExplainer, explain_tabular
from limecli.errors import InputDataError
from limecli.explainers.tabular_missing import MissingValuesWarning
from limecli.sampling.tabular import TabularSampler


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Gradient boosting's OpenMP threads only slow these small fits and calls down."""
    with threadpool_limits(1):
        yield


NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FAST = ("--num-samples", "1000", "--seed", "0", "--format", "json")


def _planted(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """x missing in ~30% of rows; the label is exactly "x is missing"; a, b, c are noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "x": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.integers(0, 5, n).astype(float),
        }
    )
    gone = rng.random(n) < 0.3
    frame.loc[gone, "x"] = np.nan
    return frame, gone.astype(int)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("planted")
    frame, label = _planted()
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(frame, label)
    joblib.dump(model, folder / "model.joblib")
    frame.to_csv(folder / "data.csv", index=False)  # NaN written as empty cells
    return {
        "frame": frame,
        "model": model,
        "missing_row": int(np.flatnonzero(label)[0]),
        "present_row": int(np.flatnonzero(label == 0)[0]),
        "model_path": folder / "model.joblib",
        "csv": folder / "data.csv",
    }


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("penguins")
    frame = palmerpenguins.load_penguins()
    features = frame[[*NUMERIC, "island", "sex"]]
    imputer = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            (
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["island", "sex"],
            ),
        ),
        LogisticRegression(max_iter=1000),
    ).fit(features, frame["species"])
    hgb = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        frame[NUMERIC], frame["species"]
    )
    joblib.dump(imputer, folder / "imputer.joblib")
    joblib.dump(hgb, folder / "hgb.joblib")
    frame.to_csv(folder / "penguins.csv", index=False)
    return {"frame": frame, "imputer": imputer, "hgb": hgb, "folder": folder}


def _features(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["labels"][0]["features"]


# -- ground truth: the label is "x is missing" ---------------------------------------


@pytest.mark.parametrize("discretizer", ["quartile", "decile", None])
def test_planted_missingness_ranks_first_through_the_api(planted, discretizer) -> None:
    explanation = explain_tabular(
        planted["model"],
        planted["frame"],
        planted["missing_row"],
        discretizer=discretizer,
        num_samples=2000,
        seed=0,
    )
    top = explanation.labels[0].features[0]
    assert (top.name, top.feature, top.value) == ("x is missing", "x", None)
    assert explanation.labels[0].label == "1"
    assert top.weight > 0.5  # being missing is what makes class 1
    others = [abs(f.weight) for f in explanation.labels[0].features[1:]]
    assert max(others) < 0.1 * top.weight


def test_continuous_mode_has_an_indicator_for_a_present_value(planted) -> None:
    """With no bins, a column that can be missing adds "<col> is missing" beside its value."""
    row = planted["frame"].iloc[planted["present_row"]]
    explanation = explain_tabular(
        planted["model"],
        planted["frame"],
        planted["present_row"],
        discretizer=None,
        num_samples=2000,
        seed=0,
    )
    top = explanation.labels[0].features[0]
    assert (top.name, top.value) == ("x is missing", pytest.approx(row["x"]))
    assert explanation.labels[0].label == "0" and top.weight < -0.5  # missing: not class 0
    names = [f.name for f in explanation.labels[0].features]
    assert sorted(names) == ["a", "b", "c", "x", "x is missing"]


def test_planted_missingness_ranks_first_through_the_cli_from_empty_cells(run_cli, planted) -> None:
    row = planted["csv"].read_text().splitlines()[planted["missing_row"] + 1]
    assert row.split(",")[1] == ""  # x is an empty cell
    result = run_cli(
        "tabular", planted["model_path"], planted["csv"], "--row", planted["missing_row"], *FAST
    )
    assert result.exit_code == 0, result.stderr
    top = _features(json.loads(result.stdout))[0]
    assert top["name"] == "x is missing" and top["value"] is None and top["weight"] > 0.5


def test_missing_row_in_the_terminal_csv_and_html_views(run_cli, planted, tmp_path) -> None:
    common = (planted["model_path"], planted["csv"], "--row", planted["missing_row"])
    table = run_cli("tabular", *common, "--num-samples", "500", "--format", "table")
    assert table.exit_code == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if "x is missing" in x)
    assert line.split()[4] == "missing"  # '#', 'x', 'is', 'missing', then the Value cell
    csv = run_cli("tabular", *common, "--num-samples", "500", "--format", "csv")
    rows = [r.split(",") for r in csv.stdout.splitlines()]
    header = rows[0]
    cell = next(r for r in rows[1:] if r[header.index("name")] == "x is missing")
    assert cell[header.index("value")] == "missing"
    page = tmp_path / "page.html"
    html = run_cli("tabular", *common, "--num-samples", "500", "-o", page)
    assert html.exit_code == 0, html.stderr
    assert '<td class="num" dir="auto">missing</td><td dir="auto">x is missing</td>' in (
        page.read_text()
    )


# -- real data with gaps -------------------------------------------------------------


@pytest.mark.parametrize("which", ["imputer", "hgb"])
def test_penguin_row_with_missing_cells_through_the_cli(run_cli, penguins, which) -> None:
    frame = penguins["frame"]
    row = 3  # every measurement (and sex) missing
    assert frame.loc[row, NUMERIC].isna().all()
    result = run_cli(
        "tabular",
        penguins["folder"] / f"{which}.joblib",
        penguins["folder"] / "penguins.csv",
        "--row",
        row,
        "--target",
        "species",
        "--feature-selection",
        "none",
        *FAST,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    by_column = {f["feature"]: f for f in _features(doc)}
    for column in NUMERIC:
        assert by_column[column]["name"] == f"{column} is missing"
        assert by_column[column]["value"] is None
    if which == "imputer":
        assert by_column["sex"]["name"] == "sex is missing" and by_column["sex"]["value"] is None
        assert by_column["island"]["value"] == "Torgersen"
    # The model was given the row with NaN/None exactly where it has gaps.
    model = penguins[which]
    columns = list(model.feature_names_in_)
    expected = model.predict_proba(frame.loc[[row], columns])[0]
    got = [doc["prediction"]["probabilities"][c] for c in model.classes_]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_model_receives_nan_or_none_exactly_where_samples_are_missing() -> None:
    """Numeric gaps arrive as NaN, text gaps as pandas' own missing marker, at the training rate."""
    rng = np.random.default_rng(1)
    n = 2000
    frame = pd.DataFrame(
        {
            "u": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "v": rng.normal(size=n),
            "s": pd.Series(rng.choice(["p", "q"], n), dtype=object).where(rng.random(n) > 0.1),
        }
    )
    seen: list[pd.DataFrame] = []

    def model(batch: pd.DataFrame) -> np.ndarray:
        seen.append(batch.copy())
        p = np.where(batch["u"].isna(), 0.9, 0.2)
        return np.column_stack([1 - p, p])

    explainer = TabularExplainer(model, frame)
    instance = frame.iloc[int(np.flatnonzero(frame["u"].isna() & frame["s"].isna())[0])]
    explanation = explainer.explain(instance, seed=3, num_samples=4000)
    samples = max(seen, key=len)
    assert len(samples) == 4000
    assert np.isnan(samples["u"].iloc[0]) and pd.isna(samples["s"].iloc[0])
    u_rate = samples["u"].iloc[1:].isna().mean()
    s_gaps = samples["s"].iloc[1:]
    assert abs(u_rate - frame["u"].isna().mean()) < 0.03
    assert abs(s_gaps.isna().mean() - frame["s"].isna().mean()) < 0.03
    assert set(s_gaps.dropna()) == {"p", "q"}  # a gap is missing, never the text "None"
    assert not samples["v"].isna().any()
    top = explanation.labels[0].features[0]
    assert (top.name, top.value) == ("u is missing", None)


# -- the random stream of columns without gaps ---------------------------------------


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_a_gappy_column_leaves_the_other_columns_draws_unchanged(discretizer) -> None:
    """Gaps in g draw no extra numbers before the others': a, b, c sample as if g were complete."""
    rng = np.random.default_rng(2)
    values = rng.normal(size=(300, 4))
    complete = pd.DataFrame(values.copy(), columns=["a", "b", "c", "g"])
    values[rng.random(300) < 0.4, 3] = np.nan
    gappy = pd.DataFrame(values, columns=["a", "b", "c", "g"])  # the same memory layout
    before = TabularSampler(complete, discretizer=discretizer).draw(500, np.random.default_rng(9))
    after = TabularSampler(gappy, discretizer=discretizer).draw(500, np.random.default_rng(9))
    rate = np.isnan(after.numeric[:, 3]).mean()
    assert abs(rate - gappy["g"].isna().mean()) < 0.07
    if discretizer is not None:
        np.testing.assert_array_equal(after.numeric[:, :3], before.numeric[:, :3])
        assert after.bins is not None
        assert np.array_equal(np.isnan(after.numeric[:, 3]), after.bins[:, 3] == 4)
    else:
        # The same normal draws; the training means may differ in the last bit (a filled
        # copy of the matrix is summed in another order, as it always was with gaps).
        assert after.noise is not None and before.noise is not None
        np.testing.assert_array_equal(after.noise, before.noise)
        np.testing.assert_allclose(after.numeric[:, :3], before.numeric[:, :3], rtol=1e-12)


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_a_batch_with_gaps_equals_each_row_explained_alone(planted, discretizer) -> None:
    explainer = TabularExplainer(
        planted["model"], planted["frame"], num_samples=800, discretizer=discretizer
    )
    rows = [planted["missing_row"], planted["present_row"]]
    together = explainer.explain_many(planted["frame"].iloc[rows], seed=4)
    for row, batch in zip(rows, together, strict=True):
        alone = explainer.explain(planted["frame"].iloc[row], seed=4)
        assert [f.name for f in batch.labels[0].features] == [
            f.name for f in alone.labels[0].features
        ]
        np.testing.assert_allclose(
            [f.weight for f in batch.labels[0].features],
            [f.weight for f in alone.labels[0].features],
            rtol=1e-7,
            atol=1e-9,
        )


# -- a model that cannot take missing values -----------------------------------------

COUNTING_SCRIPT = """\
import numpy as np

LOG = {log!r}


def predict(batch):
    x = np.asarray(batch, dtype=float)
    with open(LOG, "a") as handle:
        handle.write(f"{{len(x)}}\\n")
    if np.isnan(x).any():
        raise ValueError("Input X contains NaN.")
    p = 1 / (1 + np.exp(-x[:, 0]))
    return np.column_stack([1 - p, p])
"""


def test_a_model_without_missing_values_is_probed_once_and_refused(run_cli, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    script = tmp_path / "refuses_nan.py"
    script.write_text(COUNTING_SCRIPT.format(log=str(log)))
    rng = np.random.default_rng(5)
    train = pd.DataFrame(rng.normal(size=(100, 3)), columns=["a", "b", "c"])
    train.to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "data.csv").write_text("a,b,c\n0.5,,1\n,0.2,\n")
    result = run_cli(
        "tabular", f"{script}:predict", tmp_path / "data.csv", "--row", "1",
        "--train", tmp_path / "train.csv", *FAST,
    )  # fmt: skip
    assert result.exit_code == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: {tmp_path / 'data.csv'} row 1: the model does not accept missing values, "
        "and the row to explain has missing value(s) in column(s): a, c"
    ]
    assert "--" not in errors[0]  # names the columns, no option
    calls = [int(n) for n in log.read_text().split()]
    assert calls == [1, 1]  # the row as it is, then filled: never a pool of samples


def test_the_api_raises_the_same_error_and_a_complete_row_still_works() -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    explainer = TabularExplainer(model, frame, num_samples=500)
    gappy = frame.iloc[0].copy()
    gappy["b"] = np.nan
    with pytest.raises(InputDataError, match=r"does not accept missing values.*column\(s\): b$"):
        explainer.explain(gappy)
    top = explainer.explain(frame.iloc[0], seed=0).labels[0].features[0]
    assert top.feature == "a"


def test_gaps_only_in_training_are_left_out_for_such_a_model_with_a_warning() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    gappy = frame.copy()
    gappy.loc[::4, "b"] = np.nan
    seen: list[np.ndarray] = []

    def predict(batch: Any) -> np.ndarray:
        seen.append(np.asarray(batch, dtype=float))
        return model.predict_proba(pd.DataFrame(seen[-1], columns=["a", "b", "c"]))

    with pytest.warns(MissingValuesWarning, match=r"does not accept missing values.*column\(s\) b"):
        explainer = TabularExplainer(predict, gappy, num_samples=500)
    explanation = explainer.explain(frame.iloc[1], seed=0)
    assert explanation.labels[0].features[0].feature == "a"
    assert not any(np.isnan(batch).any() for batch in seen[2:])  # after the two probes
    assert len(seen[0]) == 1 and np.isnan(seen[0][0, 1])  # the probe: b missing


def test_a_model_that_fails_anyway_gets_its_own_error() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})

    def broken(batch: Any) -> np.ndarray:
        raise RuntimeError("the service is down")

    explainer = TabularExplainer(broken, frame, mode="classification")
    with pytest.raises(Exception, match="the service is down"):
        explainer.explain(frame.iloc[2], num_samples=100)


def test_entropy_bins_without_a_target_label_gappy_rows_for_such_a_model() -> None:
    """The model's own classes label the training rows: gaps it cannot take sit at the mean."""
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame.to_numpy(), (frame["a"] > 0).astype(int))
    gappy = frame.copy()
    gappy.loc[::5, "a"] = np.nan
    with pytest.warns(MissingValuesWarning):
        explainer = TabularExplainer(model, gappy, discretizer="entropy", num_samples=500)
    top = explainer.explain(frame.iloc[2], seed=0).labels[0].features[0]
    assert top.feature == "a"


# -- a column the row misses but training never does ----------------------------------

GAP_FREE_PREDICT = '''\
import numpy as np

CLASS_NAMES = ["measured", "unmeasured"]
BMI = 2  # load_diabetes' column order: age, sex, bmi, bp, s1..s6


def predict(batch):
    """Class "unmeasured" is likely exactly when bmi is missing; s5 adds a little."""
    batch = np.asarray(batch, dtype=float)
    p = 0.1 + 0.7 * np.isnan(batch[:, BMI]) + 0.1 * (batch[:, 8] > 0)
    return np.column_stack([1 - p, p])
'''


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Diabetes (no gaps anywhere), row 5 with bmi blanked; a model that never reads bmi."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    folder = tmp_path_factory.mktemp("diabetes")
    data = load_diabetes(as_frame=True)
    frame = data.data
    assert not frame.isna().any().any()
    kept = [c for c in frame.columns if c != "bmi"]
    blind = make_pipeline(
        make_column_transformer(("passthrough", kept), remainder="drop"), Ridge(alpha=0.1)
    ).fit(frame, data.target)
    row = frame.iloc[[5]].copy()
    row["bmi"] = np.nan
    (folder / "predict.py").write_text(GAP_FREE_PREDICT)
    frame.to_csv(folder / "train.csv", index=False)
    row.to_csv(folder / "row.csv", index=False)
    return {"frame": frame, "row": row, "blind": blind, "folder": folder}


def _missing_feature(explanation: Any, name: str) -> tuple[int, float, float]:
    """(rank from 1, weight, largest |weight|) of feature ``name``."""
    features = explanation.labels[0].features
    rank = next(i for i, f in enumerate(features, start=1) if f.name == name)
    return rank, features[rank - 1].weight, max(abs(f.weight) for f in features)


@pytest.mark.parametrize("discretizer", ["quartile", None])
def test_a_missing_cell_the_model_ignores_gets_no_weight(diabetes, discretizer) -> None:
    """Samples are missing in bmi too (training never is), so the surrogate measures it: nothing.

    Before, "bmi is missing" held in the row alone and took +6.8 (15% of the top weight, rank 8).
    """
    row = diabetes["row"].iloc[0]
    explanation = TabularExplainer(
        diabetes["blind"], diabetes["frame"], discretizer=discretizer, num_features=11
    ).explain(row, seed=0, num_samples=5000)
    rank, weight, top = _missing_feature(explanation, "bmi is missing")
    assert rank > 3
    assert abs(weight) < 0.02 * top


@pytest.mark.parametrize("discretizer", ["quartile", "decile", None])
def test_being_missing_where_training_never_is_ranks_first(diabetes, discretizer) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gap_free", diabetes["folder"] / "predict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    explanation = explain_tabular(
        module.predict,
        diabetes["row"],
        0,
        training=diabetes["frame"],
        discretizer=discretizer,
        num_samples=2000,
        seed=0,
        labels=[1],
    )
    rank, weight, _ = _missing_feature(explanation, "bmi is missing")
    assert rank == 1 and weight > 0.5


def test_being_missing_where_training_never_is_ranks_first_through_the_cli(
    run_cli, diabetes
) -> None:
    folder = diabetes["folder"]
    result = run_cli(
        "tabular",
        f"{folder / 'predict.py'}:predict",
        folder / "row.csv",
        "--row",
        "0",
        "--train",
        folder / "train.csv",
        "--label",
        "unmeasured",
        *FAST,
    )
    assert result.exit_code == 0, result.stderr
    top = _features(json.loads(result.stdout))[0]
    assert (top["name"], top["value"]) == ("bmi is missing", None)
    assert top["weight"] > 0.5


def test_a_batch_row_missing_where_training_never_is_equals_it_explained_alone(diabetes) -> None:
    """Such a row draws its own samples; the batch's other rows still share one pool."""
    rows = pd.concat([diabetes["frame"].iloc[[3]], diabetes["row"], diabetes["frame"].iloc[[7]]])
    explainer = TabularExplainer(diabetes["blind"], diabetes["frame"])
    many = explainer.explain_many(rows, seed=1, num_samples=1000)
    for explanation, (_, row) in zip(many, rows.iterrows(), strict=True):
        alone = explainer.explain(row, seed=1, num_samples=1000)
        got = [(f.name, round(f.weight, 9)) for f in explanation.labels[0].features]
        assert got == [(f.name, round(f.weight, 9)) for f in alone.labels[0].features]
    assert "bmi is missing" in [f.name for f in many[1].labels[0].features]


def test_a_missing_category_reads_is_missing_not_none(run_cli, penguins) -> None:
    """Row 8 has every measurement but no sex: the condition is "sex is missing" (API, CLI)."""
    frame = penguins["frame"]
    row = 8
    assert pd.isna(frame.loc[row, "sex"]) and frame.loc[row, NUMERIC].notna().all()
    features = frame[[*NUMERIC, "island", "sex"]]
    explanation = explain_tabular(
        penguins["imputer"], features, row, num_samples=500, seed=0, feature_selection="none"
    )
    sex = next(f for f in explanation.labels[0].features if f.feature == "sex")
    assert (sex.name, sex.value) == ("sex is missing", None)
    island = next(f for f in explanation.labels[0].features if f.feature == "island")
    assert island.name == f"island={frame.loc[row, 'island']}"
    for fmt in ("json", "table", "csv"):
        result = run_cli(
            "tabular",
            penguins["folder"] / "imputer.joblib",
            penguins["folder"] / "penguins.csv",
            "--row",
            row,
            "--target",
            "species",
            "--feature-selection",
            "none",
            "--num-samples",
            "500",
            "--format",
            fmt,
        )
        assert result.exit_code == 0, result.stderr
        assert "sex is missing" in result.stdout
        assert "sex=None" not in result.stdout and "sex=nan" not in result.stdout.lower()

"""pandas dtypes round-trip: samples reach the model with the dtypes (and categories) it was fitted on.

LightGBM fitted on ``category`` columns refuses anything else ("train and valid
dataset categorical_feature do not match"): explained from a DataFrame through
the API, and from CSV and Parquet through the CLI, where the model's own
``pandas_categorical`` says which columns to cast. XGBoost likewise, from its
stored categories.
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
from threadpoolctl import threadpool_limits

from limecli import TabularExplainer, explain_tabular

CATEGORIES = ["island", "sex", "year"]
FAST = ("--num-samples", "1000", "--seed", "0", "--format", "json")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """The boosters' OpenMP threads only slow these small fits and calls down."""
    with threadpool_limits(1):
        yield


def _penguin_frame() -> tuple[pd.DataFrame, pd.Series]:
    frame = palmerpenguins.load_penguins()
    features = frame.drop(columns=["species"]).copy()
    for column in CATEGORIES:  # year too: integer categories a CSV reads as numbers
        features[column] = features[column].astype("category")
    return features, frame["species"]


@pytest.fixture(scope="module")
def lightgbm_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lgb = pytest.importorskip("lightgbm")
    folder = tmp_path_factory.mktemp("lgbm")
    features, species = _penguin_frame()
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(features, species)
    joblib.dump(model, folder / "model.joblib")
    features.assign(species=species).to_csv(folder / "penguins.csv", index=False)
    return {"model": model, "features": features, "folder": folder}


def _expected(model: Any, features: pd.DataFrame, row: int) -> list[float]:
    return list(model.predict_proba(features.iloc[[row]])[0])


def test_lightgbm_on_category_columns_from_a_dataframe(lightgbm_model) -> None:
    model, features = lightgbm_model["model"], lightgbm_model["features"]
    row = 8  # sex is missing in this row
    explanation = explain_tabular(model, features, row, seed=0, num_samples=1000)
    got = [explanation.prediction["probabilities"][c] for c in model.classes_]
    np.testing.assert_allclose(got, _expected(model, features, row), rtol=1e-9)
    assert explanation.params["categorical_features"] == CATEGORIES
    by_column = {f.feature: f for f in explanation.labels[0].features}
    assert by_column["island"].name == "island=Torgersen"
    assert (by_column["sex"].name, by_column["sex"].value) == ("sex is missing", None)
    top = explanation.labels[0].features[0]
    assert top.feature in {"bill_length_mm", "island", "flipper_length_mm"}, top


def _cli_top(run_cli, model_path: Path, data: Path, row: int) -> dict[str, Any]:
    result = run_cli("tabular", model_path, data, "--row", row, "--target", "species", *FAST)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_lightgbm_on_category_columns_from_csv(run_cli, lightgbm_model) -> None:
    """No dtypes in a CSV: the model's pandas_categorical says what to cast (exit 5 before)."""
    folder, model = lightgbm_model["folder"], lightgbm_model["model"]
    doc = _cli_top(run_cli, folder / "model.joblib", folder / "penguins.csv", 8)
    got = [doc["prediction"]["probabilities"][c] for c in model.classes_]
    np.testing.assert_allclose(got, _expected(model, lightgbm_model["features"], 8), rtol=1e-9)
    assert doc["params"]["categorical_features"] == CATEGORIES  # year read as numbers, cast
    names = [f["name"] for f in doc["labels"][0]["features"]]
    assert "island=Torgersen" in names and "year=2007" in names
    # The same explanation as from the DataFrame itself.
    api = explain_tabular(model, lightgbm_model["features"], 8, seed=0, num_samples=1000)
    assert names == [f.name for f in api.labels[0].features]


def test_lightgbm_on_category_columns_from_parquet(run_cli, lightgbm_model, tmp_path) -> None:
    pytest.importorskip("pyarrow")
    features = lightgbm_model["features"]
    path = tmp_path / "penguins.parquet"
    features.assign(species=palmerpenguins.load_penguins()["species"]).to_parquet(path)
    doc = _cli_top(run_cli, lightgbm_model["folder"] / "model.joblib", path, 20)
    model = lightgbm_model["model"]
    got = [doc["prediction"]["probabilities"][c] for c in model.classes_]
    np.testing.assert_allclose(got, _expected(model, features, 20), rtol=1e-9)


def test_xgboost_on_category_columns_from_csv(run_cli, tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    features, species = _penguin_frame()
    codes = species.astype("category").cat.codes
    model = xgb.XGBClassifier(
        n_estimators=10, enable_categorical=True, tree_method="hist", random_state=0
    ).fit(features, codes)
    joblib.dump(model, tmp_path / "model.joblib")
    features.assign(species=codes).to_csv(tmp_path / "penguins.csv", index=False)
    doc = _cli_top(run_cli, tmp_path / "model.joblib", tmp_path / "penguins.csv", 8)
    got = [doc["prediction"]["probabilities"][str(c)] for c in range(3)]
    np.testing.assert_allclose(got, _expected(model, features, 8), rtol=1e-6)
    assert doc["params"]["categorical_features"] == CATEGORIES


def _mixed_frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "grade": pd.Categorical(
                rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi", "unused"]
            ),
            "flag": rng.random(n) < 0.5,
            "maybe": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), "boolean"),
            "count": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), "Int64"),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 4, n), "D"),
            "x": rng.normal(size=n),
        }
    )


def test_every_call_gets_the_training_dtypes_and_categories() -> None:
    frame = _mixed_frame()
    calls: list[pd.DataFrame] = []

    def model(batch: pd.DataFrame) -> np.ndarray:
        calls.append(batch)
        p = 1 / (1 + np.exp(-batch["x"].to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])

    explainer = TabularExplainer(model, frame)
    explanation = explainer.explain(frame.iloc[5], seed=0, num_samples=600)
    explainer.explain_many(frame.iloc[[1, 2]], seed=0, num_samples=600)
    assert len(calls) >= 3
    for batch in calls:
        assert batch.dtypes.to_dict() == frame.dtypes.to_dict()
        assert list(batch["grade"].cat.categories) == ["lo", "mid", "hi", "unused"]
    pool = max(calls, key=len)
    counts = pool["count"].dropna()
    assert (counts == counts.round()).all() and counts.between(0, 8).all()
    assert 0.05 < pool["maybe"].isna().mean() < 0.35  # missing at about its rate
    assert explanation.labels[0].features[0].feature == "x"
    when = next(f for f in explanation.labels[0].features if f.feature == "when")
    assert when.value == frame["when"].iloc[5].isoformat()  # JSON-ready
    json.dumps(explanation.to_dict())


def test_categorical_forces_a_numeric_column_to_its_observed_values() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"code": rng.choice([3, 7, 11], 300), "x": rng.normal(size=300)})
    calls: list[pd.DataFrame] = []

    def model(batch: pd.DataFrame) -> np.ndarray:
        calls.append(batch)
        p = np.where(batch["code"].astype(int) == 7, 0.9, 0.1)
        return np.column_stack([1 - p, p])

    explanation = explain_tabular(
        model, frame, int(np.flatnonzero(frame["code"] == 7)[0]), categorical=["code"], seed=0
    )
    assert set(pd.concat(calls)["code"].astype(int)) == {3, 7, 11}  # never 5.3 or 9.8
    top = explanation.labels[0].features[0]
    assert (top.name, top.value) == ("code=7", 7)
    assert explanation.params["categorical_features"] == ["code"]

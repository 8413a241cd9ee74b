"""Builders for tests/test_native_models.py: one small model per native format, with its truth.

Each builder fits a model on data that ships in a package (scikit-learn's wine,
breast cancer and diabetes; palmerpenguins), saves it in the framework's own
format into a temporary folder, writes the data as a CSV and returns a
:class:`Built`: which row to explain, what the model answers for it, and the
three features that drive that answer most by the model's own per-row
attribution (XGBoost ``pred_contribs``, LightGBM ``pred_contrib``, CatBoost
``ShapValues``, or coefficient x standardised value for a linear model).

The row explained is one whose driver the attribution knows clearly: among the
rows the model is neither unsure nor saturated about (top probability 0.6 to
0.95), the one whose largest |attribution| most exceeds the second largest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

TARGET = "target"


@dataclass(frozen=True)
class Built:
    model: Path
    data: Path
    row: int
    #: what the model answers for the row: class probabilities, or [value]
    answer: list[float]
    #: the three features with the largest |attribution| for the explained output
    top3: set[str]
    class_names: list[str] | None = None


def top3(names: Sequence[str], contributions: np.ndarray) -> set[str]:
    """The three names with the largest |contribution| (a bias column past them is ignored)."""
    values = np.abs(np.asarray(contributions, dtype=float)[: len(names)])
    return {str(names[i]) for i in np.argsort(-values)[:3]}


def clear_row(proba: np.ndarray | None, contributions: np.ndarray) -> int:
    """The row with the clearest driver (see the module docstring); ``contributions`` are
    (n_rows, n_features) for the output explained, without a bias column."""
    size = np.sort(np.abs(contributions), axis=1)
    ratio = size[:, -1] / np.maximum(size[:, -2], 1e-12)
    if proba is not None:
        top = np.max(proba, axis=1)
        ratio = np.where((top > 0.6) & (top < 0.95), ratio, 0.0)
    return int(np.argmax(ratio))


def explained(contributions: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per-row contributions (n, k, f) to the predicted class of each row: (n, f)."""
    return contributions[np.arange(len(proba)), np.argmax(proba, axis=1)]


def frame(dataset: Any) -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.DataFrame(dataset.data, columns=[str(c) for c in dataset.feature_names])
    return X, np.asarray(dataset.target)


def write_csv(X: pd.DataFrame, y: Any, path: Path, target: str = TARGET) -> Path:
    X.assign(**{target: y}).to_csv(path, index=False)
    return path


def penguins() -> tuple[pd.DataFrame, pd.Series]:
    """Penguins without missing rows: text columns island and sex, the species as target."""
    from palmerpenguins import load_penguins

    data = load_penguins().dropna().reset_index(drop=True)
    columns = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    return data[[*columns, "sex"]], data["species"]


# -- XGBoost ---------------------------------------------------------------------------------
def xgboost_wine_json(folder: Path) -> Built:
    """XGBClassifier (multi:softprob) on wine, saved as .json by the scikit-learn wrapper."""
    import xgboost

    X, y = frame(load_wine())
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    model.save_model(folder / "wine.json")
    proba = model.predict_proba(X)
    contribs = model.get_booster().predict(xgboost.DMatrix(X), pred_contribs=True)
    mine = explained(contribs[:, :, :-1], proba)
    row = clear_row(proba, mine)
    return Built(
        folder / "wine.json",
        write_csv(X, y, folder / "wine.csv"),
        row,
        list(proba[row]),
        top3(list(X.columns), mine[row]),
    )


def xgboost_cancer_ubj(folder: Path) -> Built:
    """A bare Booster (binary:logistic) on breast cancer, saved as .ubj."""
    import xgboost

    X, y = frame(load_breast_cancer())
    params = {"objective": "binary:logistic", "max_depth": 3, "seed": 0}
    booster = xgboost.train(params, xgboost.DMatrix(X, label=y), num_boost_round=30)
    booster.save_model(folder / "cancer.ubj")
    p = booster.predict(xgboost.DMatrix(X))
    proba = np.column_stack([1 - p, p])
    contribs = booster.predict(xgboost.DMatrix(X), pred_contribs=True)[:, :-1]
    row = clear_row(proba, contribs)
    return Built(
        folder / "cancer.ubj",
        write_csv(X, y, folder / "cancer.csv"),
        row,
        list(proba[row]),
        top3(list(X.columns), contribs[row]),
    )


def xgboost_diabetes_array_json(folder: Path) -> Built:
    """A regression Booster fitted on a plain array (no feature names), saved as .json."""
    import xgboost

    X, y = frame(load_diabetes())
    params = {"objective": "reg:squarederror", "max_depth": 3, "seed": 0}
    booster = xgboost.train(params, xgboost.DMatrix(X.to_numpy(), label=y), num_boost_round=40)
    booster.save_model(folder / "diabetes.json")
    pred = booster.predict(xgboost.DMatrix(X.to_numpy()))
    contribs = booster.predict(xgboost.DMatrix(X.to_numpy()), pred_contribs=True)[:, :-1]
    row = clear_row(None, contribs)
    return Built(
        folder / "diabetes.json",
        write_csv(X, y, folder / "diabetes.csv"),
        row,
        [float(pred[row])],
        top3(list(X.columns), contribs[row]),
    )


def xgboost_penguins_categorical_json(folder: Path) -> Built:
    """XGBClassifier (Chinstrap or other) fitted on pandas categories (island, sex), saved
    as .json: the CSV holds their text, which reaches the model as categories."""
    import xgboost

    X, species = penguins()
    y = (species == "Chinstrap").astype(int)
    Xc = X.astype({"island": "category", "sex": "category"})
    model = xgboost.XGBClassifier(
        n_estimators=30, max_depth=3, random_state=0, enable_categorical=True
    ).fit(Xc, y)
    model.save_model(folder / "penguins_xgb.json")
    proba = model.predict_proba(Xc)
    dmatrix = xgboost.DMatrix(Xc, enable_categorical=True)
    contribs = model.get_booster().predict(dmatrix, pred_contribs=True)[:, :-1]
    row = clear_row(proba, contribs)
    return Built(
        folder / "penguins_xgb.json",
        write_csv(X, y, folder / "penguins_xgb.csv", target="species"),
        row,
        list(proba[row]),
        top3(list(X.columns), contribs[row]),
    )


def mlflow_xgboost_flavour(folder: Path, built: Built) -> Path:
    """The wine XGBClassifier of :func:`xgboost_wine_json` saved by ``mlflow.xgboost``
    (whose pyfunc would answer class labels only)."""
    import warnings

    import xgboost

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.xgboost

        model = xgboost.XGBClassifier()
        model.load_model(built.model)
        mlflow.xgboost.save_model(model, str(folder / "wine_xgb_mlflow"))
    return folder / "wine_xgb_mlflow"


# -- LightGBM --------------------------------------------------------------------------------
def lightgbm_penguins_txt(folder: Path) -> Built:
    """LGBMClassifier on penguins with pandas category columns, its Booster saved as .txt."""
    import lightgbm

    X, y = penguins()
    Xc = X.astype({"island": "category", "sex": "category"})
    model = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1, random_state=0)
    model.fit(Xc, y)
    model.booster_.save_model(folder / "penguins.txt")
    proba = model.predict_proba(Xc)
    k, f = len(model.classes_), X.shape[1]
    contribs = model.booster_.predict(Xc, pred_contrib=True).reshape(len(X), k, f + 1)
    mine = explained(contribs[:, :, :-1], proba)
    row = clear_row(proba, mine)
    return Built(
        folder / "penguins.txt",
        write_csv(X, y, folder / "penguins_lgb.csv", target="species"),
        row,
        list(proba[row]),
        top3(list(X.columns), mine[row]),
    )


def lightgbm_wine_booster_pickle(folder: Path) -> Built:
    """A bare lightgbm.Booster (binary: wine class 0 or not), pickled with joblib."""
    import joblib
    import lightgbm

    X, y = frame(load_wine())
    y = (y == 0).astype(int)
    params = {"objective": "binary", "num_leaves": 8, "verbose": -1, "seed": 0}
    booster = lightgbm.train(params, lightgbm.Dataset(X, label=y), num_boost_round=30)
    joblib.dump(booster, folder / "wine_booster.pkl")
    p = booster.predict(X)
    proba = np.column_stack([1 - p, p])
    contribs = booster.predict(X, pred_contrib=True)[:, :-1]
    row = clear_row(proba, contribs)
    return Built(
        folder / "wine_booster.pkl",
        write_csv(X, y, folder / "wine_binary.csv"),
        row,
        list(proba[row]),
        top3(list(X.columns), contribs[row]),
    )


# -- CatBoost --------------------------------------------------------------------------------
def catboost_penguins(folder: Path) -> tuple[Built, Path]:
    """CatBoostClassifier (Chinstrap or other) on penguins with text categorical columns
    island and sex: a .cbm and the same model pickled. Chinstraps live on one island, so
    the island is the driver its SHAP values name for the clearest rows."""
    import catboost
    import joblib

    X, species = penguins()
    y = species.where(species == "Chinstrap", "other")
    cats = ["island", "sex"]
    model = catboost.CatBoostClassifier(
        iterations=60,
        depth=4,
        verbose=0,
        random_seed=0,
        thread_count=1,
        cat_features=cats,
        allow_writing_files=False,  # no catboost_info/ in the working folder
    )
    model.fit(X, y)
    model.save_model(str(folder / "penguins.cbm"))
    joblib.dump(model, folder / "penguins_cat.pkl")
    proba = model.predict_proba(X)
    shap = model.get_feature_importance(catboost.Pool(X, cat_features=cats), type="ShapValues")
    row = clear_row(proba, shap[:, :-1])
    built = Built(
        folder / "penguins.cbm",
        write_csv(X, y, folder / "penguins_cat.csv", target="species"),
        row,
        list(proba[row]),
        top3(list(X.columns), shap[row, :-1]),
        class_names=[str(c) for c in model.classes_],
    )
    return built, folder / "penguins_cat.pkl"


# -- linear models: MLflow, TorchScript, Keras -----------------------------------------------
@dataclass(frozen=True)
class Linear:
    """A logistic regression on standardised breast-cancer columns, for networks to copy."""

    X: pd.DataFrame
    y: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (n_features,)
    intercept: float
    row: int
    proba: np.ndarray  # (2,) for the row

    def top3(self) -> set[str]:
        z = (self.X.iloc[self.row].to_numpy() - self.mean) / self.scale
        return top3(list(self.X.columns), self.coef * z)


def linear_cancer() -> Linear:
    from sklearn.linear_model import LogisticRegression

    X, y = frame(load_breast_cancer())
    mean, scale = X.mean().to_numpy(), X.std(ddof=0).to_numpy()
    z = ((X - mean) / scale).to_numpy()
    model = LogisticRegression(C=0.05, max_iter=1000).fit(z, y)
    proba = model.predict_proba(z)
    row = clear_row(proba, model.coef_[0] * z)
    return Linear(X, y, mean, scale, model.coef_[0], float(model.intercept_[0]), row, proba[row])


def mlflow_wine_sklearn(folder: Path) -> Built:
    """A scikit-learn pipeline (scaler + logistic regression) on wine, saved by MLflow."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own import-time warnings
        import mlflow.sklearn
        from mlflow.models import infer_signature

    X, y = frame(load_wine())
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            model, str(folder / "wine_mlflow"), signature=infer_signature(X, model.predict(X))
        )
    proba = model.predict_proba(X)
    mine = linear_contributions(model, X, proba)
    row = clear_row(proba, mine)
    return Built(
        folder / "wine_mlflow",
        write_csv(X, y, folder / "wine_mlflow.csv"),
        row,
        list(proba[row]),
        top3(list(X.columns), mine[row]),
        class_names=[str(c) for c in model.classes_],
    )


def linear_contributions(model: Any, X: pd.DataFrame, proba: np.ndarray) -> np.ndarray:
    """Scaler + logistic regression: coefficient x standardised value, for each row's
    predicted class."""
    scaler, linear = model[0], model[1]
    z = (X.to_numpy(dtype=float) - scaler.mean_) / scaler.scale_
    return linear.coef_[np.argmax(proba, axis=1)] * z


def mlflow_wine_pyfunc(folder: Path) -> Built:
    """A custom python_function model (no sklearn flavour) returning a DataFrame of class
    probabilities; its signature types two columns as integers (MLflow's long)."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        from mlflow.models import infer_signature

    X, y = frame(load_wine())
    X = X.astype({"magnesium": "int64", "proline": "int64"})
    fitted = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)).fit(X, y)

    proba = fitted.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow on type hints, when the class is made

        class Probabilities(mlflow.pyfunc.PythonModel):  # type: ignore[misc, name-defined]
            def __init__(self, model):  # type: ignore[no-untyped-def]
                self.model = model

            def predict(self, context, model_input: pd.DataFrame, params=None):  # type: ignore[no-untyped-def]
                proba = self.model.predict_proba(model_input.astype(float))
                return pd.DataFrame(proba, columns=[f"p{c}" for c in self.model.classes_])

        mlflow.pyfunc.save_model(
            str(folder / "wine_pyfunc"),
            python_model=Probabilities(fitted),
            signature=infer_signature(X, pd.DataFrame(proba)),
        )
    mine = linear_contributions(fitted, X, proba)
    row = clear_row(proba, mine)
    return Built(
        folder / "wine_pyfunc",
        write_csv(X, y, folder / "wine_pyfunc.csv"),
        row,
        list(proba[row]),
        top3(list(X.columns), mine[row]),
    )

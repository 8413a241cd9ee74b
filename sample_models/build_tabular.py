"""Tabular samples: breast-cancer RandomForest, diabetes regression, a loan pipeline."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODELS = Path(__file__).resolve().parent
DATA = MODELS.parent / "sample_data"


def _save(model: object, name: str) -> None:
    joblib.dump(model, MODELS / name, compress=3)


def build_breast_cancer() -> None:
    """The seed example: RandomForest(100 trees); test row 12 is predicted malignant at 0.94."""
    d = load_breast_cancer(as_frame=True)
    y = d.target.map({0: "malignant", 1: "benign"}).rename("diagnosis")
    x_train, x_test, y_train, y_test = train_test_split(d.data, y, test_size=0.2, random_state=18)
    model = RandomForestClassifier(n_estimators=100, random_state=5, n_jobs=1)
    model.fit(x_train, y_train)
    _save(model, "breast_cancer_rf.joblib")
    pd.concat([x_train, y_train], axis=1).to_csv(DATA / "breast_cancer_train.csv", index=False)
    pd.concat([x_test, y_test], axis=1).to_csv(DATA / "breast_cancer_test.csv", index=False)


def build_diabetes() -> None:
    """Regression: disease progression one year on, from sklearn's diabetes data."""
    d = load_diabetes(as_frame=True, scaled=False)
    y = d.target.rename("progression")
    x_train, x_test, y_train, y_test = train_test_split(d.data, y, test_size=0.2, random_state=0)
    model = RandomForestRegressor(n_estimators=50, max_depth=6, random_state=0, n_jobs=1)
    model.fit(x_train, y_train)
    _save(model, "diabetes_rf.joblib")
    pd.concat([x_train, y_train], axis=1).to_csv(DATA / "diabetes_train.csv", index=False)
    pd.concat([x_test, y_test], axis=1).to_csv(DATA / "diabetes_test.csv", index=False)


def make_loans(n: int, seed: int) -> pd.DataFrame:
    """Synthetic loans whose true drivers are known.

    ``approved`` depends only on income, debt_ratio and employment;
    age, region and a noise column are irrelevant by construction.
    """
    rng = np.random.default_rng(seed)
    income = rng.lognormal(mean=10.8, sigma=0.45, size=n).round(-2)
    debt_ratio = rng.uniform(0.0, 0.8, size=n).round(3)
    employment = rng.choice(
        ["salaried", "self-employed", "unemployed"], size=n, p=[0.6, 0.25, 0.15]
    )
    age = rng.integers(21, 75, size=n)
    region = rng.choice(["north", "south", "east", "west"], size=n)
    noise = rng.normal(size=n).round(3)
    employment_score = (
        pd.Series(employment)
        .map({"salaried": 1.0, "self-employed": 0.2, "unemployed": -2.0})
        .to_numpy()
    )
    logit = 2.2 * (np.log(income) - 10.8) / 0.45 - 6.0 * (debt_ratio - 0.4) + 1.8 * employment_score
    approved = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "approved", "rejected")
    return pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "employment": employment,
            "age": age,
            "region": region,
            "noise": noise,
            "decision": approved,
        }
    )


def build_loans() -> None:
    """A DataFrame pipeline with string categorical columns (ColumnTransformer + boosting)."""
    train = make_loans(2000, seed=1)
    test = make_loans(200, seed=2)
    features = train.drop(columns="decision")
    pre = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["employment", "region"]),
            ("numbers", StandardScaler(), ["income", "debt_ratio", "age", "noise"]),
        ]
    )
    model = Pipeline(
        [
            ("prepare", pre),
            ("classify", GradientBoostingClassifier(n_estimators=80, random_state=0)),
        ]
    )
    model.fit(features, train["decision"])
    _save(model, "loans_pipeline.joblib")
    train.to_csv(DATA / "loans_train.csv", index=False)
    test.to_csv(DATA / "loans_test.csv", index=False)


def build_all() -> None:
    DATA.mkdir(exist_ok=True)
    build_breast_cancer()
    build_diabetes()
    build_loans()


if __name__ == "__main__":
    build_all()

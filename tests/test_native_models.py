"""Native model formats through the CLI (issue 15, scope 1): XGBoost .json/.ubj, LightGBM
.txt and Booster pickles, CatBoost .cbm and pickles with text categoricals, MLflow model
folders, TorchScript and Keras.

Every model is built from data that ships in a package (tests/native_models.py), in a
session-scoped temporary folder, and explained with ``limecli tabular``. Each test
checks what the model answers for the row (the probabilities limecli reports are the
model's own) and that the top LIME feature is among the three the model's own per-row
attribution ranks highest (SHAP/pred_contribs, or coefficient x standardised value).

The CI installs xgboost-cpu, lightgbm, catboost and mlflow-skinny (pyproject [test]);
torch and keras are too large for CI: their tests skip when the package (or, for Keras,
a backend) is missing.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from native_models import (
    Built,
    catboost_penguins,
    lightgbm_penguins_txt,
    lightgbm_wine_booster_pickle,
    linear_cancer,
    mlflow_wine_pyfunc,
    mlflow_wine_sklearn,
    mlflow_xgboost_flavour,
    write_csv,
    xgboost_cancer_ubj,
    xgboost_diabetes_array_json,
    xgboost_penguins_categorical_json,
    xgboost_wine_json,
)

from limecli.errors import ModelLoadError
from limecli.model.loading import load_model

SAMPLES = "800"


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("native_models")


def _build(module: str, make: Callable[[Path], Any], folder: Path) -> Any:
    pytest.importorskip(module)
    return make(folder)


@pytest.fixture(scope="session")
def xgb_wine(folder: Path) -> Built:
    return _build("xgboost", xgboost_wine_json, folder)


@pytest.fixture(scope="session")
def xgb_cancer(folder: Path) -> Built:
    return _build("xgboost", xgboost_cancer_ubj, folder)


@pytest.fixture(scope="session")
def xgb_diabetes(folder: Path) -> Built:
    return _build("xgboost", xgboost_diabetes_array_json, folder)


@pytest.fixture(scope="session")
def xgb_penguins(folder: Path) -> Built:
    return _build("xgboost", xgboost_penguins_categorical_json, folder)


@pytest.fixture(scope="session")
def lgb_penguins(folder: Path) -> Built:
    return _build("lightgbm", lightgbm_penguins_txt, folder)


@pytest.fixture(scope="session")
def lgb_booster(folder: Path) -> Built:
    return _build("lightgbm", lightgbm_wine_booster_pickle, folder)


@pytest.fixture(scope="session")
def cat_penguins(folder: Path) -> tuple[Built, Path]:
    return _build("catboost", catboost_penguins, folder)


@pytest.fixture(scope="session")
def mlflow_sklearn(folder: Path) -> Built:
    return _build("mlflow", mlflow_wine_sklearn, folder)


@pytest.fixture(scope="session")
def mlflow_pyfunc(folder: Path) -> Built:
    return _build("mlflow", mlflow_wine_pyfunc, folder)


def explain(run_cli, model: Path, built: Built, *extra: object, target: str = "target") -> dict:
    result = run_cli(
        "tabular", model, built.data, "--row", built.row, "--target", target,
        "--num-samples", SAMPLES, "--seed", 0, "--format", "json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def check_explains(out: dict, built: Built, mode: str = "classification") -> str:
    """The reported answer is the model's own, and the top feature is a true driver."""
    assert out["mode"] == mode
    if mode == "classification":
        reported = list(out["prediction"]["probabilities"].values())
    else:
        reported = [out["labels"][0]["model_prediction"]]
    np.testing.assert_allclose(reported, built.answer, rtol=1e-5, atol=1e-6)
    top = out["labels"][0]["features"][0]["feature"]
    assert top in built.top3, (top, built.top3)
    return top


# -- XGBoost ---------------------------------------------------------------------------------
def test_xgboost_json_multiclass_from_the_sklearn_wrapper(run_cli, xgb_wine: Built) -> None:
    out = explain(run_cli, xgb_wine.model, xgb_wine)
    check_explains(out, xgb_wine)
    assert list(out["prediction"]["probabilities"]) == ["0", "1", "2"]


def test_xgboost_ubj_binary_booster_gives_two_probabilities(run_cli, xgb_cancer: Built) -> None:
    out = explain(run_cli, xgb_cancer.model, xgb_cancer)
    check_explains(out, xgb_cancer)
    assert len(out["prediction"]["probabilities"]) == 2


def test_xgboost_regression_fitted_on_an_array(run_cli, xgb_diabetes: Built) -> None:
    # no feature names in the file: the data's columns go in order, the count is checked
    out = explain(run_cli, xgb_diabetes.model, xgb_diabetes)
    check_explains(out, xgb_diabetes, mode="regression")
    predictor = load_model(xgb_diabetes.model)
    assert predictor.feature_names is None and predictor.n_features_in == 10


def test_xgboost_booster_pickle_and_parallel_workers(
    run_cli, xgb_cancer: Built, folder: Path
) -> None:
    import joblib
    import xgboost

    booster = xgboost.Booster(model_file=str(xgb_cancer.model))
    joblib.dump(booster, folder / "cancer_xgb.joblib")
    out = explain(run_cli, folder / "cancer_xgb.joblib", xgb_cancer)
    check_explains(out, xgb_cancer)
    # a batch in two worker processes: the wrapped Booster travels by pickle
    result = run_cli(
        "tabular", folder / "cancer_xgb.joblib", xgb_cancer.data, "--rows", "0:4",
        "--target", "target", "--num-samples", 300, "--jobs", 2, "--format", "jsonl",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 4


def test_xgboost_json_with_pandas_categories_read_from_text(run_cli, xgb_penguins: Built) -> None:
    out = explain(run_cli, xgb_penguins.model, xgb_penguins, target="species")
    check_explains(out, xgb_penguins)
    assert set(out["params"]["categorical_features"]) >= {"island", "sex"}


# -- LightGBM --------------------------------------------------------------------------------
def test_lightgbm_txt_with_pandas_categories_read_from_text(run_cli, lgb_penguins: Built) -> None:
    # island and sex are text in the CSV; the file records the categories they were fitted on
    out = explain(run_cli, lgb_penguins.model, lgb_penguins, target="species")
    check_explains(out, lgb_penguins)
    assert set(out["params"]["categorical_features"]) >= {"island", "sex"}


def test_lightgbm_booster_pickle_probabilities_are_classification(
    run_cli, lgb_booster: Built
) -> None:
    out = explain(run_cli, lgb_booster.model, lgb_booster)
    check_explains(out, lgb_booster)
    assert list(out["prediction"]["probabilities"]) == ["0", "1"]


# -- CatBoost --------------------------------------------------------------------------------
def test_catboost_cbm_with_text_categoricals(run_cli, cat_penguins: tuple[Built, Path]) -> None:
    built, _ = cat_penguins
    out = explain(run_cli, built.model, built, target="species")
    check_explains(out, built)
    assert list(out["prediction"]["probabilities"]) == built.class_names
    assert out["data"]["feature_columns"] == [
        "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex",
    ]  # fmt: skip


def test_catboost_pickle_knows_its_columns(run_cli, cat_penguins: tuple[Built, Path]) -> None:
    # an unpickled CatBoost model reports n_features_in_ == 0: limecli reads feature_names_
    built, pickled = cat_penguins
    from_pickle = explain(run_cli, pickled, built, target="species")
    from_cbm = explain(run_cli, built.model, built, target="species")
    check_explains(from_pickle, built)
    assert from_pickle["labels"] == from_cbm["labels"]


# -- MLflow ----------------------------------------------------------------------------------
def test_mlflow_folder_prefers_the_sklearn_flavour(run_cli, mlflow_sklearn: Built) -> None:
    out = explain(run_cli, mlflow_sklearn.model, mlflow_sklearn)
    check_explains(out, mlflow_sklearn)
    assert list(out["prediction"]["probabilities"]) == mlflow_sklearn.class_names
    # the MLmodel file itself names its folder
    again = explain(run_cli, mlflow_sklearn.model / "MLmodel", mlflow_sklearn)
    assert again["labels"] == out["labels"]


def test_mlflow_xgboost_flavour_gives_probabilities(run_cli, xgb_wine: Built, folder: Path) -> None:
    pytest.importorskip("mlflow")
    model = mlflow_xgboost_flavour(folder, xgb_wine)
    out = explain(run_cli, model, xgb_wine)
    check_explains(out, xgb_wine)  # the model file inside, read by the XGBoost loader


def test_mlflow_pyfunc_gets_its_signature_columns_and_types(run_cli, mlflow_pyfunc: Built) -> None:
    out = explain(run_cli, mlflow_pyfunc.model, mlflow_pyfunc)
    check_explains(out, mlflow_pyfunc)
    predictor = load_model(mlflow_pyfunc.model)
    restored = pickle.loads(pickle.dumps(predictor))  # pickles as its folder
    assert restored.feature_names == predictor.feature_names
    assert restored.n_features_in == 13


def test_model_uris_and_plain_folders_get_one_line(run_cli, tmp_path: Path) -> None:
    data = write_csv(*_tiny(), tmp_path / "d.csv")
    uri = run_cli("tabular", "models:/wine/3", data, "--row", 0)
    assert uri.exit_code == 4 and uri.stdout == ""
    assert "model URIs need a registry or tracking server" in uri.stderr
    (tmp_path / "plain").mkdir()
    for model in (tmp_path / "plain", _touch(tmp_path / "model.h5")):
        result = run_cli("tabular", model, data, "--row", 0)
        assert result.exit_code == 4 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1
        for fragment in (".json/.ubj/.txt/.cbm/.pt/.pth/.pt2/.keras", "MLflow model folder"):
            assert fragment in result.stderr
        assert "predict.py:predict, a function taking a batch and returning" in result.stderr


# -- missing frameworks ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("suffix", "module", "extra"),
    [
        (".json", "xgboost", "xgboost"),
        (".txt", "lightgbm", "lightgbm"),
        (".cbm", "catboost", "catboost"),
        (".pt", "torch", "torch"),
        (".pt2", "torch", "torch"),
        (".keras", "keras", "keras"),
    ],
)
def test_a_missing_framework_names_its_extra(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    model = _touch(tmp_path / f"m{suffix}")
    result = run_cli("tabular", model, write_csv(*_tiny(), tmp_path / "d.csv"), "--row", 0)
    assert result.exit_code == 4
    assert f"pip install 'limecli[{extra}]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_pickle_needing_a_missing_framework_names_its_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("lightgbm")
    import joblib
    import lightgbm

    X, y = _tiny()
    booster = lightgbm.train({"verbose": -1}, lightgbm.Dataset(X, label=y), num_boost_round=2)
    joblib.dump(booster, tmp_path / "b.pkl")
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    monkeypatch.setitem(sys.modules, "lightgbm.basic", None)
    with pytest.raises(ModelLoadError, match=r"pip install 'limecli\[lightgbm\]'"):
        load_model(tmp_path / "b.pkl")


def test_help_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from limecli.cli import cli\n"
        "for args in (['--help'], ['tabular', '--help']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0\n"
        "names = ('xgboost', 'lightgbm', 'catboost', 'mlflow', 'torch', 'keras')\n"
        "print([m for m in names if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- TorchScript and Keras (skipped without them: too large for CI) --------------------------
def test_torchscript_network(run_cli, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (not in CI)")
    truth = linear_cancer()

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(len(truth.coef), 2)
            weights = np.vstack([np.zeros_like(truth.coef), truth.coef]) / truth.scale
            bias = [0.0, truth.intercept - float(truth.coef @ (truth.mean / truth.scale))]
            with torch.no_grad():
                self.linear.weight.copy_(torch.tensor(weights, dtype=torch.float32))
                self.linear.bias.copy_(torch.tensor(bias, dtype=torch.float32))

        def forward(self, x):  # no annotation: TorchScript takes an unannotated x as a Tensor
            return torch.softmax(self.linear(x), dim=1)

    net = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 on TorchScript
        torch.jit.save(torch.jit.script(net), str(tmp_path / "cancer.pt"))
    torch.save(net.state_dict(), tmp_path / "weights.pth")
    built = _linear_built(truth, tmp_path / "cancer.pt", tmp_path)
    out = explain(run_cli, built.model, built)
    check_explains(out, built)
    # the same network as a torch.export program with a dynamic batch dimension
    sample = (torch.zeros(4, len(truth.coef)),)
    batch = {"x": {0: torch.export.Dim("batch")}}
    torch.export.save(torch.export.export(net, sample, dynamic_shapes=batch), tmp_path / "n.pt2")
    exported = explain(run_cli, tmp_path / "n.pt2", built)
    assert exported["labels"][0]["features"] == out["labels"][0]["features"]
    # a torch.save file is not TorchScript: one line pointing to a predict script
    result = run_cli("tabular", tmp_path / "weights.pth", built.data, "--row", 0)
    assert result.exit_code == 4
    assert "not a TorchScript file" in result.stderr and "predict.py:predict" in result.stderr


def test_keras_network(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("keras", reason="keras is not installed (not in CI)")
    if not any(importlib.util.find_spec(b) for b in ("tensorflow", "jax", "torch")):
        pytest.skip("no Keras backend (tensorflow, jax or torch) is installed")
    from limecli.model.keras_format import choose_backend

    choose_backend()
    import keras

    truth = linear_cancer()
    weights = np.vstack([np.zeros_like(truth.coef), truth.coef]) / truth.scale
    bias = [0.0, truth.intercept - float(truth.coef @ (truth.mean / truth.scale))]
    with warnings.catch_warnings():
        # Keras's torch backend converts tensors the way numpy 2 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        inputs = keras.Input((len(truth.coef),))
        dense = keras.layers.Dense(2, activation="softmax")
        model = keras.Model(inputs, dense(inputs))
        dense.set_weights([weights.T.astype("float32"), np.asarray(bias, dtype="float32")])
        model.save(tmp_path / "cancer.keras")
    built = _linear_built(truth, tmp_path / "cancer.keras", tmp_path)
    out = explain(run_cli, built.model, built)
    check_explains(out, built)
    assert load_model(built.model).n_features_in == 30


# -- helpers ---------------------------------------------------------------------------------
def _linear_built(truth: Any, model: Path, folder: Path) -> Built:
    return Built(
        model,
        write_csv(truth.X, truth.y, folder / "cancer.csv"),
        truth.row,
        [float(p) for p in truth.proba],
        truth.top3(),
    )


def _tiny() -> tuple[Any, Any]:
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    return X, (X["a"] > 0).astype(int).to_numpy()


def _touch(path: Path) -> Path:
    path.write_bytes(b"not a model")
    return path

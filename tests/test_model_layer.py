"""The model layer as a library: format table, parameter-naming messages, pickling, import graph."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT
from sklearn.linear_model import LogisticRegression, Ridge

import limecli.model
from limecli.errors import ModelLoadError, ParameterError, PredictorError
from limecli.model import loading
from limecli.model.loading import MODEL_FORMATS, MODEL_SUFFIXES, load_model
from limecli.model.predictor import Predictor
from limecli.model.wrap import as_predictor, wrap_model

SCRIPT = (
    "import numpy as np\n"
    "CLASS_NAMES = ['no', 'yes']\n"
    "def predict(batch):\n"
    "    p = 1 / (1 + np.exp(-np.asarray(batch, dtype=float)[:, 0]))\n"
    "    return np.column_stack([1 - p, p])\n"
)


def spelled(message: str, flags: dict[str, str]) -> str:
    """The CLI's rule: "The 'x' parameter" and "'x'" become the flag, for the names listed."""
    for name, flag in flags.items():
        message = message.replace(f"The '{name}' parameter", flag).replace(f"'{name}'", flag)
    return message


# -- pickling an entrypoint Predictor (the path that once needed the loading <-> predictor cycle) --
def test_entrypoint_predictor_unpickles_in_a_fresh_process(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "predict.py").write_text(SCRIPT)
    monkeypatch.chdir(tmp_path)
    predictor = load_model("scripts/predict.py:predict")  # relative: the worker runs elsewhere
    blob = pickle.dumps(predictor)
    child = (
        "import pickle, sys\n"
        "import numpy as np\n"
        "p = pickle.loads(sys.stdin.buffer.read())\n"
        "print(p.class_names, p.mode, np.round(p(np.array([[0.0], [2.0]])), 4).tolist())\n"
        "print('limecli.model.loading' in sys.modules)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", child], input=blob, capture_output=True, cwd=elsewhere, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    first, second = done.stdout.decode().splitlines()
    expected = np.round(predictor(np.array([[0.0], [2.0]])), 4).tolist()
    assert first == f"['no', 'yes'] None {expected}"
    # Unpickling re-imports the script through limecli.model.entrypoint alone.
    assert second == "False"


# -- messages name parameters, and the CLI's spelling gives back the flags -------------------------
@pytest.mark.parametrize("spec", ["model.pkl", "model.onnx", "predict.py:predict", "m.h5"])
def test_trust_on_a_non_skops_model_names_the_parameter(spec: str) -> None:
    with pytest.raises(ParameterError) as caught:
        load_model(spec, trust=["x.Y"])
    assert str(caught.value) == "The 'trust' parameter applies to .skops models only"
    assert caught.value.parameters == ("trust",)
    assert spelled(str(caught.value), {"trust": "--trust"}) == (
        "--trust applies to .skops models only"
    )


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"mode": "ranking"}, "mode"), ({"timeout": 0}, "timeout")]
)
def test_invalid_parameters_name_themselves(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ParameterError, match=f"The '{name}' parameter") as caught:
        load_model("model.pkl", **kwargs)
    assert caught.value.parameters == (name,)


def test_classification_without_predict_proba_advises_the_mode_parameter() -> None:
    X = np.arange(20.0).reshape(10, 2)
    with pytest.raises(ModelLoadError) as caught:
        wrap_model(Ridge().fit(X, X[:, 0]), mode="classification", source="m.pkl")
    assert caught.value.parameters == ("mode",)
    assert spelled(str(caught.value), {"mode": "--mode"}) == (
        "m.pkl: Ridge has no predict_proba, so it cannot be explained in classification mode "
        "(use --mode regression to explain predict)"
    )


def test_untrusted_skops_types_advise_the_trust_parameter(tmp_path: Path) -> None:
    sio = pytest.importorskip("skops.io")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    (tmp_path / "custom_fn.py").write_text("def double(x):\n    return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import custom_fn  # type: ignore[import-not-found]

        X = np.random.default_rng(0).normal(size=(30, 3))
        model = make_pipeline(FunctionTransformer(custom_fn.double), LogisticRegression())
        sio.dump(model.fit(X, X[:, 0] > 0), tmp_path / "model.skops")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("custom_fn", None)
    with pytest.raises(ModelLoadError) as caught:
        load_model(tmp_path / "model.skops")
    assert caught.value.parameters == ("trust",)
    assert spelled(str(caught.value), {"trust": "--trust"}).endswith(
        "if you trust them, pass --trust custom_fn.double"
    )


def test_onnx_without_probabilities_advises_the_mode_parameter(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    X = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    path = tmp_path / "ridge.onnx"
    path.write_bytes(skl2onnx.to_onnx(Ridge().fit(X, X[:, 0]), X[:1]).SerializeToString())
    with pytest.raises(ModelLoadError) as caught:
        load_model(path, mode="classification")
    assert caught.value.parameters == ("mode",)
    assert spelled(str(caught.value), {"mode": "--mode"}).endswith(
        "in classification mode (use --mode regression)"
    )


def test_timeout_names_the_parameter() -> None:
    predictor = Predictor(lambda b: time.sleep(2), mode="regression", source="slow", timeout=0.05)
    with pytest.raises(PredictorError) as caught:
        predictor(np.zeros((3, 1)))
    assert caught.value.parameters == ("timeout",)
    assert spelled(str(caught.value), {"timeout": "--timeout"}) == (
        "the model slow did not answer within 0.05 s (--timeout) for a batch of 3 rows"
    )


# -- the format table and as_predictor ------------------------------------------------------------
def test_each_suffix_names_one_format() -> None:
    native = (".json", ".ubj", ".txt", ".cbm", ".pt", ".pth", ".pt2", ".keras")
    suffixes = MODEL_SUFFIXES
    assert suffixes == (".joblib", ".pkl", ".pickle", ".skops", ".onnx", *native)
    assert len(set(MODEL_SUFFIXES)) == sum(len(f.suffixes) for f in MODEL_FORMATS)


def test_an_unknown_suffix_lists_every_format(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"expected a \.joblib/\.pkl/\.pickle/\.skops/\.onnx"):
        load_model(tmp_path / "m.h5")
    with pytest.raises(ModelLoadError, match="model file not found"):
        load_model(tmp_path / "missing.h5")


def test_as_predictor_accepts_a_predictor_an_estimator_and_a_callable() -> None:
    X = np.arange(20.0).reshape(10, 2)
    bare = Predictor(lambda b: np.zeros((len(b), 1)), mode=None)
    assert as_predictor(bare, "regression") is bare and bare.mode == "regression"
    assert as_predictor(bare, "classification").mode == "regression"  # a known mode stays
    fitted = as_predictor(LogisticRegression().fit(X, X[:, 0] > 8))
    assert fitted.mode == "classification" and fitted.class_names == ["False", "True"]
    assert fitted.source == "LogisticRegression"
    assert as_predictor(lambda b: np.ones((len(b), 1)), "regression").mode == "regression"


# -- the import graph inside limecli.model ----------------------------------------------------
def _imports(path: Path) -> set[str]:
    """Every limecli module a file imports, function-level included, TYPE_CHECKING blocks not."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("limecli"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("limecli"):
            found.add(str(node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def _model_graph() -> dict[str, set[str]]:
    package = Path(limecli.model.__file__).parent
    modules = {f"limecli.model.{p.stem}": p for p in package.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path) for name, path in modules.items()}


def test_model_modules_import_no_cycle_and_nothing_above_their_layer() -> None:
    graph = _model_graph()
    allowed = (
        "limecli.errors",
        "limecli.jsonable",
        "limecli.validation",
        "limecli.config",
        "limecli.model.",
    )
    for name, imports in graph.items():
        assert all(i.startswith(allowed) for i in imports), (name, imports)
    done: set[str] = set()

    def walk(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for target in graph.get(name, ()):
            walk(target, (*path, name))
        done.add(name)

    for name in graph:
        walk(name, ())
    assert "limecli.model.loading" not in graph["limecli.model.entrypoint"]


def test_the_package_init_imports_nothing() -> None:
    assert _imports(Path(limecli.model.__file__)) == set()
    assert loading.load_model is load_model  # the dispatcher keeps its public names


@pytest.mark.parametrize(
    ("content", "detail"),
    [(b"not a pickle", "KeyError: 110"), (b"\x80\x04\x95", "it ends too early")],
)
def test_a_file_that_is_not_a_pickle_says_so(
    tmp_path: Path, run_cli: Any, content: bytes, detail: str
) -> None:
    model = tmp_path / "model.joblib"
    model.write_bytes(content)
    result = run_cli("tabular", model, ROOT / "sample_data/breast_cancer_test.csv", "--row", 1)
    assert result.exit_code == 4
    assert result.stderr == (
        f"Error: cannot load model {model}: it is not a pickle or joblib file, or it is "
        f"damaged ({detail})\n"
    )

"""Turn what the user names on the command line into a Predictor.

Kinds of model spec:

* a pickled model file (``.joblib``, ``.pkl``, ``.pickle``) holding any object
  with ``predict_proba`` (classification) or ``predict`` (regression);
  **unpickling runs code from the file: only load models you trust**;
* a scikit-learn model saved with ``skops`` (``.skops``, optional extra
  ``limecli[skops]``): loading runs no code from the file, and types skops
  does not trust by default are refused unless listed in ``trust``;
* an ONNX model (``.onnx``, optional extra ``limecli[onnx]``), run with
  onnxruntime: any framework, no Python pickle;
* a predict-script entrypoint ``path/to/script.py:function`` or
  ``package.module:function``: a function taking a batch and returning
  probabilities or values. The script may define ``CLASS_NAMES`` and ``MODE``.

"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from limecli.errors import ModelLoadError, ModelVersionWarning, ParameterError
from limecli.model.predictor import MODES, Predictor

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
SKOPS_SUFFIXES = (".skops",)
ONNX_SUFFIXES = (".onnx",)
MODEL_SUFFIXES = PICKLE_SUFFIXES + SKOPS_SUFFIXES + ONNX_SUFFIXES


def is_entrypoint(spec: str) -> bool:
    """True when ``spec`` looks like ``script.py:function`` or ``package.module:function``."""
    if ":" not in spec or Path(spec).suffix.lower() in MODEL_SUFFIXES:
        return False
    left, _, right = spec.rpartition(":")
    return bool(left) and right.isidentifier()


def load_model(
    spec: str | Path,
    *,
    mode: str | None = None,
    class_names: Sequence[str] | None = None,
    timeout: float | None = None,
    trust: Sequence[str] = (),
) -> Predictor:
    """Load a model file or predict-script entrypoint as a :class:`Predictor`.

    ``mode`` forces "classification" or "regression"; by default it is inferred
    (``predict_proba`` means classification). ``class_names`` overrides the names
    the model or script carries. ``timeout`` limits each model call, in
    seconds (see :class:`Predictor`). ``trust`` lists the types a ``.skops``
    file may hold beyond those skops trusts by default.
    """
    if mode is not None and mode not in MODES:
        raise ParameterError(
            f"The 'mode' parameter must be one of {MODES!r}. Got {mode!r} instead."
        )
    if timeout is not None and not timeout > 0:
        raise ParameterError(f"The 'timeout' parameter must be > 0. Got {timeout!r} instead.")
    text = str(spec)
    suffix = Path(text).suffix.lower()
    if trust and suffix not in SKOPS_SUFFIXES:
        raise ParameterError("--trust applies to .skops models only")
    if is_entrypoint(text):
        predictor = _load_entrypoint(text, mode)
    elif suffix in SKOPS_SUFFIXES:
        predictor = _load_skops(Path(text), mode, trust)
    elif suffix in ONNX_SUFFIXES:
        predictor = _load_onnx(Path(text), mode)
    else:
        predictor = _load_pickle(Path(text), mode)
    if class_names is not None:
        predictor.class_names = list(class_names)
    predictor.timeout = timeout
    return predictor


def wrap_model(model: Any, *, mode: str | None = None, source: str = "<model>") -> Predictor:
    """Wrap an in-memory estimator (anything with predict_proba/predict) as a Predictor."""
    if callable(model) and not hasattr(model, "predict") and not hasattr(model, "predict_proba"):
        return Predictor(model, mode=mode, source=source)
    has_proba = hasattr(model, "predict_proba")
    has_predict = hasattr(model, "predict")
    if mode is None:
        if has_proba:
            mode = "classification"
        elif has_predict:
            mode = "regression"
    if mode == "classification" and not has_proba:
        if has_predict:
            raise ModelLoadError(
                f"{source}: {type(model).__name__} has no predict_proba, so it cannot be "
                "explained in classification mode (use --mode regression to explain predict)"
            )
        raise ModelLoadError(f"{source}: {type(model).__name__} has no predict_proba or predict")
    if mode is None or (mode == "regression" and not has_predict):
        raise ModelLoadError(
            f"{source}: {type(model).__name__} has no predict_proba or predict method"
        )
    fn = model.predict_proba if mode == "classification" else model.predict
    class_names = None
    if mode == "classification" and hasattr(model, "classes_"):
        class_names = [str(c) for c in model.classes_]
    feature_names = getattr(model, "feature_names_in_", None)
    return Predictor(
        fn,
        mode=mode,
        class_names=class_names,
        feature_names=[str(f) for f in feature_names] if feature_names is not None else None,
        source=source,
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelLoadError(f"model path is a directory, not a file: {path}")


def _load_pickle(path: Path, mode: str | None) -> Predictor:
    _check_file(path)
    if path.suffix.lower() not in PICKLE_SUFFIXES:
        raise ModelLoadError(
            f"cannot load model {path}: expected a {'/'.join(MODEL_SUFFIXES)} file "
            "or a script entrypoint like predict.py:predict"
        )
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(path)
        except ModuleNotFoundError as e:
            raise ModelLoadError(
                f"cannot load model {path}: it needs the Python module '{e.name}', "
                "which is not installed"
            ) from e
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {path}: {type(e).__name__}: {_first_line(e)}"
            ) from e
    _reemit_load_warnings(caught, path)
    return wrap_model(model, mode=mode, source=path.name)


def _load_skops(path: Path, mode: str | None, trust: Sequence[str]) -> Predictor:
    """A scikit-learn model saved by skops: no code from the file runs while loading."""
    _check_file(path)
    try:
        import skops.io as sio
    except ImportError as e:
        raise ModelLoadError(
            f"cannot load {path}: .skops models need the 'skops' package "
            "(pip install 'limecli[skops]')"
        ) from e
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as e:
        raise ModelLoadError(
            f"cannot load model {path}: not a skops file ({type(e).__name__}: {_first_line(e)})"
        ) from e
    refused = [t for t in untrusted if t not in set(trust)]
    if refused:
        listed = ", ".join(refused)
        flags = " ".join(f"--trust {t}" for t in refused)
        raise ModelLoadError(
            f"{path} holds type(s) skops does not trust by default: {listed}; "
            f"if you trust them, pass {flags}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = sio.load(path, trusted=list(untrusted) or None)
        except ModuleNotFoundError as e:
            raise ModelLoadError(
                f"cannot load model {path}: it needs the Python module '{e.name}', "
                "which is not installed"
            ) from e
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {path}: {type(e).__name__}: {_first_line(e)}"
            ) from e
    _reemit_load_warnings(caught, path)
    return wrap_model(model, mode=mode, source=path.name)


def _load_onnx(path: Path, mode: str | None) -> Predictor:
    """An ONNX model run by onnxruntime (see :class:`OnnxModel`)."""
    _check_file(path)
    try:
        import onnxruntime  # noqa: F401
    except ImportError as e:
        raise ModelLoadError(
            f"cannot load {path}: .onnx models need the 'onnxruntime' package "
            "(pip install 'limecli[onnx]')"
        ) from e
    model = OnnxModel(str(path))
    if mode is None:
        mode = "classification" if model.proba_output is not None else "regression"
    if mode == "classification" and model.proba_output is None:
        raise ModelLoadError(
            f"{path.name}: the ONNX model has no probability output, so it cannot be explained "
            "in classification mode (use --mode regression)"
        )
    fn = model.predict_proba if mode == "classification" else model.predict
    return Predictor(
        fn,
        mode=mode,
        class_names=model.class_names,
        feature_names=model.feature_names,
        source=path.name,
    )


class OnnxModel:
    """An onnxruntime session as ``predict_proba``/``predict`` over a batch; pickles by path.

    Inputs: one tensor input (a 2-D batch: a DataFrame's values or an array,
    cast to the input's element type, e.g. float32), or one input per column
    named like the columns (scikit-learn pipelines converted from DataFrames),
    each fed as an (n, 1) column. Outputs: the probability output (a tensor
    output named like ``probabilities``/``output_probability``, or a sequence of
    maps, skl2onnx's ZipMap, whose keys are the class names), else the first
    numeric tensor output for regression.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._session: Any = None
        session = self.session
        inputs = session.get_inputs()
        outputs = session.get_outputs()
        self.input_names = [i.name for i in inputs]
        self.input_types = [i.type for i in inputs]
        self.feature_names: list[str] | None = self.input_names if len(inputs) > 1 else None
        self.proba_output: str | None = None
        self.value_output: str | None = None
        for out in outputs:
            is_map = out.type.startswith("seq(map(")
            if "prob" in out.name.lower() and (is_map or out.type.startswith("tensor(")):
                self.proba_output = out.name
                break
        for out in outputs:
            if out.type in ("tensor(float)", "tensor(double)") and out.name != self.proba_output:
                self.value_output = out.name
                break
        self.class_names = _onnx_class_labels(path)
        shape = inputs[0].shape if len(inputs) == 1 else None
        if shape is not None and len(shape) == 2 and isinstance(shape[1], int):
            self.n_features_in_ = int(shape[1])

    @property
    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            try:
                self._session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
            except Exception as e:
                raise ModelLoadError(
                    f"cannot load model {self.path}: not a usable ONNX model "
                    f"({type(e).__name__}: {_first_line(e)})"
                ) from e
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None}

    def _feed(self, batch: Any) -> dict[str, Any]:
        import numpy as np

        if len(self.input_names) > 1:
            return {
                name: _column(batch, name, kind)
                for name, kind in zip(self.input_names, self.input_types, strict=True)
            }
        values = batch.to_numpy() if hasattr(batch, "to_numpy") else np.asarray(batch)
        return {self.input_names[0]: values.astype(_numpy_type(self.input_types[0]))}

    def _run(self, name: str, batch: Any) -> Any:
        try:
            return self.session.run([name], self._feed(batch))[0]
        except (TypeError, ValueError) as e:
            raise ValueError(f"cannot feed the batch to the ONNX model: {_first_line(e)}") from e

    def predict_proba(self, batch: Any) -> Any:
        import numpy as np

        assert self.proba_output is not None
        raw = self._run(self.proba_output, batch)
        if isinstance(raw, list):  # ZipMap: one {class: probability} per row
            keys = list(raw[0]) if raw else []
            if self.class_names is None:
                self.class_names = [str(k) for k in keys]
            return np.array([[row[k] for k in keys] for row in raw], dtype=float)
        return raw

    def predict(self, batch: Any) -> Any:
        name = self.value_output or self.session.get_outputs()[0].name
        return self._run(name, batch)


def _onnx_class_labels(path: str) -> list[str] | None:
    """Class labels written in the graph by converters (needs the ``onnx`` package, else None)."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        graph = onnx.load(path, load_external_data=False).graph
    except Exception:
        return None
    for node in graph.node:
        for attr in node.attribute:
            if attr.name in ("classlabels_strings", "classlabels_int64s", "classlabels_ints"):
                values = attr.strings or attr.ints
                if values:
                    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    return None


def _numpy_type(onnx_type: str) -> Any:
    import numpy as np

    types = {
        "tensor(float)": np.float32,
        "tensor(double)": np.float64,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
        "tensor(string)": object,
        "tensor(bool)": np.bool_,
    }
    return types.get(onnx_type, np.float32)


def _column(batch: Any, name: str, kind: str) -> Any:
    if not hasattr(batch, "columns") or name not in batch.columns:
        raise ValueError(f"the ONNX model takes an input '{name}' per column; the data has none")
    values = batch[name].to_numpy()
    return values.astype(_numpy_type(kind)).reshape(-1, 1)


def _reemit_load_warnings(caught: list[warnings.WarningMessage], path: Path) -> None:
    """Fold scikit-learn's per-estimator version warnings into one clear warning."""
    versions: set[str] = set()
    estimators: list[str] = []
    for w in caught:
        if type(w.message).__name__ == "InconsistentVersionWarning":
            msg: Any = w.message
            versions.add(str(getattr(msg, "original_sklearn_version", "?")))
            name = str(getattr(msg, "estimator_name", "?"))
            if name not in estimators:
                estimators.append(name)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if estimators:
        import sklearn

        shown = ", ".join(estimators[:3]) + (", ..." if len(estimators) > 3 else "")
        warnings.warn(
            f"{path.name} was pickled with scikit-learn {', '.join(sorted(versions))} but "
            f"{sklearn.__version__} is installed ({shown}); predictions may differ. "
            "Re-save the model with this version to be sure.",
            ModelVersionWarning,
            stacklevel=3,
        )


def _load_entrypoint(spec: str, mode: str | None) -> Predictor:
    fn, module = import_entrypoint(spec)
    script_mode = getattr(module, "MODE", None)
    if mode is None and script_mode is not None:
        if script_mode not in MODES:
            raise ModelLoadError(f"{spec}: MODE must be one of {MODES!r}, got {script_mode!r}")
        mode = script_mode
    class_names = getattr(module, "CLASS_NAMES", None)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
    # Workers (joblib, Dask) may run in another folder: re-import by absolute path.
    target, _, func_name = spec.rpartition(":")
    reload_spec = f"{Path(target).resolve()}:{func_name}" if _is_script_path(target) else spec
    return Predictor(fn, mode=mode, class_names=class_names, source=spec, reload_spec=reload_spec)


def import_entrypoint(spec: str) -> tuple[Callable[[Any], Any], ModuleType]:
    """Import ``file.py:function`` or ``package.module:function``; return (function, module)."""
    target, _, func_name = spec.rpartition(":")
    if _is_script_path(target):
        module = _import_file(Path(target), spec)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            raise ModelLoadError(f"cannot import {spec}: no module named '{e.name}'") from e
        except Exception as e:
            raise ModelLoadError(
                f"cannot import {spec}: {type(e).__name__}: {_first_line(e)}"
            ) from e
    fn = getattr(module, func_name, None)
    if fn is None:
        raise ModelLoadError(f"{target} has no function '{func_name}'")
    if not callable(fn):
        raise ModelLoadError(f"{target}: '{func_name}' is not callable")
    return fn, module


def _is_script_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise ModelLoadError(f"predict script not found: {path}")
    resolved = path.resolve()
    # A stable, unique module name per script file, so two scripts called
    # predict.py do not collide and re-imports in workers find the same name.
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"limecli_script_{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise ModelLoadError(f"cannot import {path} as a Python script")
    module = importlib.util.module_from_spec(module_spec)
    # Let the script import its sibling modules and find files next to it.
    script_dir = str(resolved.parent)
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except ModuleNotFoundError as e:
        del sys.modules[name]
        raise ModelLoadError(
            f"cannot import {spec}: it needs the Python module '{e.name}', which is not installed"
        ) from e
    except Exception as e:
        del sys.modules[name]
        raise ModelLoadError(f"cannot import {spec}: {type(e).__name__}: {_first_line(e)}") from e
    return module


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"

"""Turn a model spec (a file or a predict-script entrypoint) into a :class:`Predictor`.

Kinds of model spec:

* a pickled model file (``.joblib``, ``.pkl``, ``.pickle``) holding any object
  with ``predict_proba`` (classification) or ``predict`` (regression);
  **unpickling runs code from the file: only load models you trust**;
* a scikit-learn model saved with ``skops`` (``.skops``, optional extra
  ``limecli[skops]``): loading runs no code from the file, and types skops
  does not trust by default are refused unless listed in ``trust``;
* an ONNX model (``.onnx``, optional extra ``limecli[onnx]``), run with
  onnxruntime: any framework, no Python pickle;
* native formats of the boosting libraries, read without pickle:
  XGBoost ``.json``/``.ubj`` (``limecli[xgboost]``), LightGBM ``.txt``
  (``limecli[lightgbm]``), CatBoost ``.cbm`` (``limecli[catboost]``); the
  objective in the file says whether it gives class probabilities;
* neural networks: TorchScript ``.pt``/``.pth`` and ``torch.export`` ``.pt2``
  (``limecli[torch]``), and Keras 3
  ``.keras`` (``limecli[keras]``), whose first answer says what they return;
* an MLflow model folder (a directory with an ``MLmodel`` file, ``limecli[mlflow]``),
  loaded locally; ``models:/`` and other URIs are refused;
* a predict-script entrypoint ``path/to/script.py:function`` or
  ``package.module:function``: a function taking a batch and returning
  probabilities or values. The script may define ``CLASS_NAMES`` and ``MODE``.

A model file is loaded by the entry of :data:`MODEL_FORMATS` its suffix names (a
folder by the entry whose ``marker`` file it holds); a new format is one module
with an ``open_<format>(path)`` plus one entry there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from limecli.config import MODES
from limecli.errors import ModelLoadError, ParameterError
from limecli.model.catboost_format import CATBOOST_SUFFIXES, open_catboost
from limecli.model.entrypoint import import_entrypoint, is_entrypoint, portable_spec
from limecli.model.files import check_file
from limecli.model.guard import escaped, fenced, program_name
from limecli.model.keras_format import KERAS_SUFFIXES, open_keras
from limecli.model.lightgbm_format import LIGHTGBM_SUFFIXES, open_lightgbm
from limecli.model.mlflow_format import MLFLOW_MARKER, open_mlflow
from limecli.model.native import declared_mode
from limecli.model.onnx import ONNX_SUFFIXES, OnnxModel, load_onnx
from limecli.model.pickled import PICKLE_SUFFIXES, SKOPS_SUFFIXES, load_pickle, load_skops
from limecli.model.predictor import Predictor
from limecli.model.torchscript_format import (
    EXPORTED_SUFFIXES,
    TORCHSCRIPT_SUFFIXES,
    open_exported,
    open_torchscript,
)
from limecli.model.wrap import as_predictor, wrap_model
from limecli.model.xgboost_format import XGBOOST_SUFFIXES, open_xgboost

__all__ = [
    "MODEL_FORMATS",
    "MODEL_SUFFIXES",
    "ONNX_SUFFIXES",
    "PICKLE_SUFFIXES",
    "SKOPS_SUFFIXES",
    "ModelFormat",
    "OnnxModel",
    "as_predictor",
    "import_entrypoint",
    "is_entrypoint",
    "load_model",
    "wrap_model",
]


class Loader(Protocol):
    """Load one model file; ``trust`` is empty unless the format's entry takes it."""

    def __call__(self, path: Path, *, mode: str | None, trust: Sequence[str] = ()) -> Predictor: ...


@dataclass(frozen=True)
class ModelFormat:
    """One model format: the suffixes that name its files and the function that loads one."""

    suffixes: tuple[str, ...]
    load: Loader
    #: Whether the format reads the ``trust`` parameter (types allowed beyond the defaults).
    takes_trust: bool = False
    #: A format stored as a folder: the file whose presence makes a folder one of its models.
    marker: str | None = None


def opened(open_model: Callable[[Path], Any]) -> Loader:
    """A loader from ``open_model(path)``, which returns the model as an object.

    An object with ``predict_proba``/``predict`` is wrapped as an estimator
    (:func:`wrap_model`); a callable (a network, a pyfunc) becomes a Predictor
    that learns the mode from its first answer unless ``mode`` is given, with the
    object's ``feature_names`` (the columns it takes, or None for an array).
    """

    def load(path: Path, *, mode: str | None, trust: Sequence[str] = ()) -> Predictor:
        if not path.is_dir():
            check_file(path)
        model = open_model(path)
        if hasattr(model, "predict_proba") or hasattr(model, "predict"):
            return wrap_model(model, mode=declared_mode(model, mode), source=path.name)
        # The bound __call__, so the Predictor finds the object's n_features_in_.
        names = getattr(model, "feature_names", None)
        return Predictor(model.__call__, mode=mode, feature_names=names, source=path.name)

    return load


#: Every model format, in the order the suffixes are listed in messages.
MODEL_FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat(PICKLE_SUFFIXES, load_pickle),
    ModelFormat(SKOPS_SUFFIXES, load_skops, takes_trust=True),
    ModelFormat(ONNX_SUFFIXES, load_onnx),
    ModelFormat(XGBOOST_SUFFIXES, opened(open_xgboost)),
    ModelFormat(LIGHTGBM_SUFFIXES, opened(open_lightgbm)),
    ModelFormat(CATBOOST_SUFFIXES, opened(open_catboost)),
    ModelFormat(TORCHSCRIPT_SUFFIXES, opened(open_torchscript)),
    ModelFormat(EXPORTED_SUFFIXES, opened(open_exported)),
    ModelFormat(KERAS_SUFFIXES, opened(open_keras)),
    ModelFormat((), opened(open_mlflow), marker=MLFLOW_MARKER),
)

MODEL_SUFFIXES = tuple(s for fmt in MODEL_FORMATS for s in fmt.suffixes)
_BY_SUFFIX = {s: fmt for fmt in MODEL_FORMATS for s in fmt.suffixes}
_TRUST_SUFFIXES = "/".join(s for fmt in MODEL_FORMATS if fmt.takes_trust for s in fmt.suffixes)
#: What a model can be, for the one line that refuses anything else.
SUPPORTED = (
    f"a {'/'.join(MODEL_SUFFIXES)} file, an MLflow model folder (holding an MLmodel file), "
    "or a predict script: predict.py:predict, a function taking a batch and returning "
    "probabilities (or values)"
)
# scheme:/ -- two letters at least, so a Windows drive (C:\) is a path
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


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
            f"The 'mode' parameter must be one of {MODES!r}. Got {mode!r} instead.",
            parameters=("mode",),
        )
    if timeout is not None and not timeout > 0:
        raise ParameterError(
            f"The 'timeout' parameter must be > 0. Got {timeout!r} instead.",
            parameters=("timeout",),
        )
    text = str(spec)
    fmt = _BY_SUFFIX.get(Path(text).suffix.lower())
    if trust and (fmt is None or not fmt.takes_trust):
        raise ParameterError(
            f"The 'trust' parameter applies to {_TRUST_SUFFIXES} models only",
            parameters=("trust",),
        )
    if _URI.match(text) and not is_entrypoint(text):
        raise ModelLoadError(
            f"cannot load model {text}: model URIs need a registry or tracking server, which "
            "limecli does not use; download the model folder (mlflow artifacts download) "
            "and pass its path"
        )
    # Loading runs the model's code (unpickling, a script's import, a framework's own):
    # fenced, so its prints go to stderr and its exits are load errors (limecli.model.guard).
    with fenced(program_name(text)):
        try:
            predictor = _dispatch(text, fmt, mode, trust)
        except Exception:
            raise
        except BaseException as e:  # sys.exit, os._exit, its own KeyboardInterrupt
            how = escaped(e)
            if how is None:  # a real Ctrl-C
                raise
            raise ModelLoadError(
                f"cannot load model {text}: the model {how} while being loaded"
            ) from e
    if class_names is not None:
        predictor.class_names = list(class_names)
    predictor.timeout = timeout
    return predictor


def _dispatch(
    text: str, fmt: ModelFormat | None, mode: str | None, trust: Sequence[str]
) -> Predictor:
    if is_entrypoint(text):
        return _load_entrypoint(text, mode)
    if fmt is not None:
        return fmt.load(Path(text), mode=mode, trust=tuple(trust))
    return _load_folder(Path(text), mode)


def _load_folder(path: Path, mode: str | None) -> Predictor:
    """A folder format's model (found by its marker file), else the one-line refusal."""
    if path.name in {f.marker for f in MODEL_FORMATS} and path.is_file():
        path = path.parent  # the marker file itself names its folder
    if not path.exists():
        check_file(path)
    for fmt in MODEL_FORMATS:
        if fmt.marker is not None and (path / fmt.marker).is_file():
            return fmt.load(path, mode=mode)
    what = "folder is not a model" if path.is_dir() else "suffix is not a model format"
    raise ModelLoadError(f"cannot load model {path}: the {what}; expected {SUPPORTED}")


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
    return Predictor(
        fn, mode=mode, class_names=class_names, source=spec, reload_spec=portable_spec(spec)
    )

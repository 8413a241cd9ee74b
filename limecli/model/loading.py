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
* a predict-script entrypoint ``path/to/script.py:function`` or
  ``package.module:function``: a function taking a batch and returning
  probabilities or values. The script may define ``CLASS_NAMES`` and ``MODE``.

A model file is loaded by the entry of :data:`MODEL_FORMATS` its suffix names;
a new format is one module with a loader plus one entry there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from limecli.config import MODES
from limecli.errors import ModelLoadError, ParameterError
from limecli.model.entrypoint import import_entrypoint, is_entrypoint, portable_spec
from limecli.model.files import check_file
from limecli.model.onnx import ONNX_SUFFIXES, OnnxModel, load_onnx
from limecli.model.pickled import PICKLE_SUFFIXES, SKOPS_SUFFIXES, load_pickle, load_skops
from limecli.model.predictor import Predictor
from limecli.model.wrap import as_predictor, wrap_model

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
    """One model file format: the suffixes that name it and the function that loads it."""

    suffixes: tuple[str, ...]
    load: Loader
    #: Whether the format reads the ``trust`` parameter (types allowed beyond the defaults).
    takes_trust: bool = False


#: Every model file format, in the order the suffixes are listed in messages.
MODEL_FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat(PICKLE_SUFFIXES, load_pickle),
    ModelFormat(SKOPS_SUFFIXES, load_skops, takes_trust=True),
    ModelFormat(ONNX_SUFFIXES, load_onnx),
)

MODEL_SUFFIXES = tuple(s for fmt in MODEL_FORMATS for s in fmt.suffixes)
_BY_SUFFIX = {s: fmt for fmt in MODEL_FORMATS for s in fmt.suffixes}
_TRUST_SUFFIXES = "/".join(s for fmt in MODEL_FORMATS if fmt.takes_trust for s in fmt.suffixes)


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
    if is_entrypoint(text):
        predictor = _load_entrypoint(text, mode)
    elif fmt is not None:
        predictor = fmt.load(Path(text), mode=mode, trust=tuple(trust))
    else:
        path = Path(text)
        check_file(path)
        raise ModelLoadError(
            f"cannot load model {path}: expected a {'/'.join(MODEL_SUFFIXES)} file "
            "or a script entrypoint like predict.py:predict"
        )
    if class_names is not None:
        predictor.class_names = list(class_names)
    predictor.timeout = timeout
    return predictor


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

"""Keras 3 models (``.keras``, saved by ``model.save``; extra ``limecli[keras]``).

Loaded with ``keras.saving.load_model(path, compile=False)`` in Keras's safe
mode, which refuses to deserialise Python lambdas: loading runs no code from the
file. Keras needs a backend: ``KERAS_BACKEND`` (or ``~/.keras/keras.json``)
names it; when the one named (TensorFlow by default) is not installed,
TensorFlow, JAX or PyTorch is used, the first that is. The model is called
(``training=False``) on a float32 array (a table's rows as
``(n_rows, n_features)``; images as the batch the explainer builds). As for
TorchScript, the meaning of the output is read from its first answer: a
softmax layer's rows are class probabilities, one column is a regression.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import ModelLoadError
from limecli.model.files import FileModel, first_line, import_framework, plain_values

KERAS_SUFFIXES = (".keras",)


def open_keras(path: Path) -> KerasModel:
    """A ``.keras`` file as :class:`KerasModel` (loaded now, so errors come at once)."""
    choose_backend()
    try:
        import_framework("keras", path, "Keras .keras")
    except ModelLoadError as e:
        if "'keras'" in str(e):
            raise
        raise ModelLoadError(
            f"{e}; Keras needs a backend: install tensorflow, jax or torch "
            "(and name it in KERAS_BACKEND)"
        ) from e
    model = KerasModel(path)
    model.model  # noqa: B018 -- open it now: a bad file fails here, not on the first call
    return model


def choose_backend() -> None:
    """Name an installed backend when the configured one (TensorFlow by default) is missing.

    Keras writes ``~/.keras/keras.json`` naming TensorFlow on its first import, so
    the file alone does not mean a user chose it; ``KERAS_BACKEND`` always wins.
    """
    if "KERAS_BACKEND" in os.environ:
        return
    named = "tensorflow"
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        named = str(json.loads(config.read_text()).get("backend", named))
    if importlib.util.find_spec(named) is not None:
        return
    for backend in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


class KerasModel(FileModel):
    """A Keras model called as ``batch -> numpy array``; pickles as its path."""

    def open(self) -> Any:
        choose_backend()  # a worker process starts with its own environment
        import keras

        try:
            model = keras.saving.load_model(str(self.path), compile=False)
        except Exception as e:
            raise ModelLoadError(
                f"cannot load model {self.shown} as a Keras model: "
                f"{type(e).__name__}: {first_line(e)}"
            ) from e
        self.n_features_in_ = _n_features(model)
        return model

    def __call__(self, batch: Any) -> np.ndarray:
        out = self.model(plain_values(batch, np.float32), training=False)
        if isinstance(out, (tuple, list)):
            out = out[0]
        if hasattr(out, "detach"):  # the torch backend's tensor: numpy without autograd
            return out.detach().cpu().numpy()
        import keras

        return np.asarray(keras.ops.convert_to_numpy(out))


def _n_features(model: Any) -> int | None:
    """The width of a model's one 2-D input, if it has exactly that."""
    inputs = getattr(model, "inputs", None) or []
    shape = tuple(inputs[0].shape) if len(inputs) == 1 else ()
    return int(shape[1]) if len(shape) == 2 and shape[1] is not None else None

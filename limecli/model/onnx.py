"""ONNX model files (``.onnx``, extra ``limecli[onnx]``) run by onnxruntime: no pickle.

An image model's input spec (layout, size, dtype, and mean/std from the model's
metadata_props) is read here as ``OnnxModel.input_spec``; see
:mod:`limecli.model.tensor_spec`. metadata_props ``class_names`` (a JSON list)
names the outputs when the graph's nodes do not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from limecli.errors import ModelLoadError
from limecli.model.files import check_file, first_line
from limecli.model.predictor import Predictor

ONNX_SUFFIXES = (".onnx",)


def load_onnx(path: Path, *, mode: str | None, trust: Sequence[str] = ()) -> Predictor:
    """An ONNX model run by onnxruntime (see :class:`OnnxModel`; ``trust`` is for skops)."""
    check_file(path)
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
            "in classification mode (use 'mode' regression)",
            parameters=("mode",),
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
        metadata = _metadata(session)
        self.class_names = _onnx_class_labels(path) or _metadata_classes(metadata, path)
        self.input_shapes = [list(i.shape) for i in inputs]
        shape = inputs[0].shape if len(inputs) == 1 else None
        if shape is not None and len(shape) == 2 and isinstance(shape[1], int):
            self.n_features_in_ = int(shape[1])
        self.input_spec = _input_spec(inputs, metadata, path)

    @property
    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            try:
                self._session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
            except Exception as e:
                raise ModelLoadError(
                    f"cannot load model {self.path}: not a usable ONNX model "
                    f"({type(e).__name__}: {first_line(e)})"
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
        kind = _numpy_type(self.input_types[0])
        return {self.input_names[0]: values.astype(kind, copy=False)}

    def _run(self, name: str, batch: Any) -> Any:
        try:
            feed = self._feed(batch)
        except (TypeError, ValueError) as e:
            raise ValueError(f"cannot feed the batch to the ONNX model: {first_line(e)}") from e
        try:
            return self.session.run([name], feed)[0]
        except ModelLoadError:
            raise
        except Exception as e:  # onnxruntime's own errors derive from Exception only
            raise OnnxRunError(
                f"onnxruntime refused the batch: {one_line(e)} ({self._mismatch(feed)})"
            ) from e

    def _mismatch(self, feed: dict[str, Any]) -> str:
        """What the model takes against what it was sent, for an error message."""
        parts = []
        for name, kind, shape in zip(
            self.input_names, self.input_types, self.input_shapes, strict=True
        ):
            dims = ", ".join(
                str(d) if isinstance(d, int) else "N" if i == 0 else str(d or "?")
                for i, d in enumerate(shape)
            )
            sent = feed.get(name)
            got = "" if sent is None else f", sent {tuple(sent.shape)} {sent.dtype}"
            parts.append(f"input '{name}' takes [{dims}] {kind}{got}")
        return "; ".join(parts)

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


class OnnxRunError(ValueError):
    """onnxruntime refused a batch; the message holds its whole reason on one line."""


def one_line(e: BaseException) -> str:
    """An exception's whole message on one line (onnxruntime's reasons span lines)."""
    return " ".join(str(e).split()) or type(e).__name__


def _metadata(session: Any) -> dict[str, str]:
    """The model's metadata_props (key -> text), empty when it has none."""
    try:
        return dict(session.get_modelmeta().custom_metadata_map)
    except Exception:  # an old runtime or a model without metadata
        return {}


def _metadata_classes(metadata: dict[str, str], path: str) -> list[str] | None:
    """``class_names`` from metadata_props: a JSON list, or names separated by commas."""
    text = metadata.get("class_names", "").strip()
    if not text:
        return None
    try:
        names = json.loads(text) if text.startswith("[") else text.split(",")
    except ValueError as e:
        raise ModelLoadError(
            f"{Path(path).name}: metadata class_names is not a JSON list: {e}"
        ) from None
    if not isinstance(names, list) or not names:
        raise ModelLoadError(f"{Path(path).name}: metadata class_names is not a list of names")
    return [str(n).strip() for n in names]


def _input_spec(inputs: Any, metadata: dict[str, str], path: str) -> Any:
    """What the model says of an image input: its shape and type, and its metadata_props
    (``input_mean``, ``input_std``, ...; see :mod:`limecli.model.tensor_spec`)."""
    from limecli.model.tensor_spec import METADATA_KEYS, spec_from_mapping, spec_from_shape

    declared = spec_from_mapping(metadata, METADATA_KEYS, Path(path).name)
    if len(inputs) != 1:
        return declared
    return spec_from_shape(list(inputs[0].shape), inputs[0].type).over(declared)


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
        "tensor(uint8)": np.uint8,
        "tensor(int8)": np.int8,
        "tensor(string)": object,
        "tensor(bool)": np.bool_,
    }
    return types.get(onnx_type, np.float32)


def _column(batch: Any, name: str, kind: str) -> Any:
    if not hasattr(batch, "columns") or name not in batch.columns:
        raise ValueError(f"the ONNX model takes an input '{name}' per column; the data has none")
    values = batch[name].to_numpy()
    return values.astype(_numpy_type(kind)).reshape(-1, 1)

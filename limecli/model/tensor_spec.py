"""The tensor an image model receives: layout, size, value scale, per-channel mean/std, dtype.

Explanations work on ``(H, W, 3)`` RGB pixels in 0-255. Each batch of perturbed
images is turned into the model's tensor in this order:

1. the image is resized to ``size`` (width, height) before it is cut into superpixels;
2. values are scaled to 0-1 (divided by 255) or kept 0-255 (``scale``);
3. a model taking one channel gets the gray level (0.299 R + 0.587 G + 0.114 B);
4. each channel is normalised, ``(value - mean) / std``, in the scaled units
   (``mean=0.485,0.456,0.406`` goes with scale 0-1);
5. channels last ``(n, H, W, C)`` (``NHWC``) or first ``(n, C, H, W)`` (``NCHW``);
6. cast to ``dtype``: float32, float64, or uint8 (0-255, rounded; no mean/std).

Each value comes from the first of these that says it:

1. the parameters given (the command's options);
2. the model: an ONNX input's shape (``[N, 3, H, W]`` is NCHW at HxW, ``[N, H, W, 3]``
   NHWC, ``[N, 1, H, W]`` gray) and element type, and its metadata_props
   ``input_layout``, ``input_size``, ``input_scale``, ``input_mean``, ``input_std``,
   ``input_dtype``; a predict script's module-level constants ``INPUT_LAYOUT``
   (``"NCHW"``), ``INPUT_SIZE`` (``(width, height)`` or ``"224x224"``), ``INPUT_SCALE``
   (``"0-255"``), ``INPUT_MEAN``/``INPUT_STD`` (three numbers, or one for every
   channel), ``INPUT_DTYPE``; any model object with an ``input_spec`` attribute
   (a :class:`TensorSpec` or a dict of its fields);
3. the defaults, what limecli always sent: NHWC, the image's own size, 0-1, no
   mean/std, float32 (0-255 for uint8).

A flattened input (an estimator or ONNX model taking ``H*W*3`` or ``H*W`` columns)
gets the tensor flattened in its own order (see the image explainer).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from limecli.config import SCALES
from limecli.config.image import DTYPES, LAYOUTS
from limecli.errors import ModelLoadError, ParameterError

#: A predict script's module-level constants, by field.
SCRIPT_CONSTANTS = {
    "layout": "INPUT_LAYOUT",
    "size": "INPUT_SIZE",
    "scale": "INPUT_SCALE",
    "mean": "INPUT_MEAN",
    "std": "INPUT_STD",
    "dtype": "INPUT_DTYPE",
}
#: An ONNX model's metadata_props keys, by field.
METADATA_KEYS = {field: name.lower() for field, name in SCRIPT_CONSTANTS.items()}
#: The library parameter (and CLI option) of each field.
PARAMETERS = {"size": "resize"}

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")
_ONNX_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(uint8)": "uint8"}


@dataclass(frozen=True)
class TensorSpec:
    """What an image model is sent; ``None`` means "not said" (see :meth:`over`, :meth:`resolved`).

    ``size`` is (width, height); ``mean``/``std`` hold one value per channel (or one
    for all); ``channels`` is 3 (RGB) or 1 (gray).
    """

    layout: str | None = None
    size: tuple[int, int] | None = None
    scale: str | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    dtype: str | None = None
    channels: int | None = None

    @classmethod
    def parse(cls, **given: Any) -> TensorSpec:
        """A spec from parameters (``layout``, ``resize``, ``scale``, ``mean``, ``std``,
        ``dtype``; None ones left out); ParameterError naming the parameter."""
        fields: dict[str, Any] = {}
        for name, value in given.items():
            field = "size" if name == "resize" else name
            if value is None:
                continue
            try:
                fields[field] = _PARSERS[field](value)
            except ValueError as e:
                raise ParameterError(f"The '{name}' parameter {e}", parameters=(name,)) from None
        return cls(**fields)

    def over(self, fallback: TensorSpec) -> TensorSpec:
        """This spec, with what it does not say taken from ``fallback``."""
        return TensorSpec(
            **{
                f.name: getattr(self, f.name)
                if getattr(self, f.name) is not None
                else getattr(fallback, f.name)
                for f in dataclasses.fields(self)
            }
        )

    def resolved(self) -> TensorSpec:
        """Every field but ``size``/``mean``/``std`` filled with the default; conflicts refused."""
        dtype = self.dtype or "float32"
        scale = self.scale or ("0-255" if dtype == "uint8" else "0-1")
        channels = self.channels or 3
        if dtype == "uint8" and (scale != "0-255" or self.mean or self.std):
            raise ParameterError(
                "'dtype' uint8 sends the pixels as they are (0-255): 'scale' 0-1, 'mean' and "
                "'std' do not apply",
                parameters=("dtype", "scale", "mean", "std"),
            )
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and len(values) not in (1, channels):
                raise ParameterError(
                    f"'{name}' has {len(values)} values but the model takes {channels} "
                    "channel(s): give one per channel, or one for all",
                    parameters=(name,),
                )
        return dataclasses.replace(
            self, layout=self.layout or "NHWC", scale=scale, dtype=dtype, channels=channels
        )

    @property
    def is_default(self) -> bool:
        """Whether the batch is what limecli always sent (NHWC RGB float32, no mean/std)."""
        return (
            self.layout in (None, "NHWC")
            and self.dtype in (None, "float32")
            and self.channels in (None, 3)
            and self.mean is None
            and self.std is None
        )

    def to_tensor(self, batch: Any) -> Any:
        """The model's tensor from a resolved spec and a batch ``(n, H, W, 3)`` float32 that
        is already scaled; the batch itself when there is nothing to change."""
        import numpy as np

        x = batch.astype(np.float64) if self.dtype == "float64" else batch
        if self.channels == 1 and x.shape[-1] != 1:
            x = (x @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
        if self.mean is not None or self.std is not None:
            channels = x.shape[-1]
            for name, values in (("mean", self.mean), ("std", self.std)):
                if values is not None and len(values) not in (1, channels):
                    raise ParameterError(
                        f"'{name}' has {len(values)} values but the model takes {channels} "
                        "channel(s)",
                        parameters=(name,),
                    )
            x = np.subtract(x, np.asarray(self.mean or (0.0,), dtype=x.dtype), dtype=x.dtype)
            x /= np.asarray(self.std or (1.0,), dtype=x.dtype)
        if self.dtype == "uint8":
            x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        if self.layout == "NCHW":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return x

    def params(self) -> dict[str, Any]:
        """What a record says of the tensor beyond ``scale``: nothing for the default."""
        if self.is_default:
            return {}
        out: dict[str, Any] = {"layout": self.layout, "dtype": self.dtype}
        if self.channels == 1:
            out["channels"] = 1
        for name in ("mean", "std"):
            if getattr(self, name) is not None:
                out[name] = list(getattr(self, name))
        return out

    def describe(self) -> str:
        """One phrase for a note, e.g. ``NCHW float32 (n, 3, 48, 48), values 0-1, mean ...``."""
        c = self.channels or 3
        if self.size is None:
            h, w = "H", "W"
        else:
            w, h = (str(v) for v in self.size)
        dims = f"(n, {c}, {h}, {w})" if self.layout == "NCHW" else f"(n, {h}, {w}, {c})"
        text = f"{self.layout} {self.dtype} {dims}, values {self.scale}"
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None:
                text += f", {name} " + ",".join(f"{v:g}" for v in values)
        return text


# -- what a model declares ---------------------------------------------------------------


def declared_spec(model: Any) -> TensorSpec:
    """What ``model`` (a Predictor, or any model object) says of its input, else an empty spec.

    Looked for on the model, on the object whose method it wraps (an ONNX model,
    an estimator with ``input_spec``), then in a predict script's constants.
    """
    fn = getattr(model, "fn", None)
    for holder in (model, getattr(fn, "__self__", None)):
        spec = getattr(holder, "input_spec", None)
        if isinstance(spec, TensorSpec):
            return spec
        if isinstance(spec, Mapping):
            return spec_from_mapping(spec, {f: f for f in SCRIPT_CONSTANTS}, type(holder).__name__)
    if fn is not None and getattr(model, "_reload_spec", None) is not None:
        from limecli.model.entrypoint import script_constants

        constants = script_constants(fn, tuple(SCRIPT_CONSTANTS.values()))
        return spec_from_mapping(constants, SCRIPT_CONSTANTS, str(getattr(model, "source", fn)))
    return TensorSpec()


def spec_from_mapping(
    values: Mapping[str, Any], keys: Mapping[str, str], source: str
) -> TensorSpec:
    """A spec from a model's declarations (``keys``: field -> the name it is stored under);
    ModelLoadError naming ``source`` and the name when one is unusable."""
    fields: dict[str, Any] = {}
    for field, key in keys.items():
        value = values.get(key)
        if value is None:
            continue
        try:
            fields[field] = _PARSERS[field](value)
        except ValueError as e:
            raise ModelLoadError(f"{source}: {key} {e}") from None
    return TensorSpec(**fields)


def spec_from_shape(shape: Sequence[Any], element_type: str | None = None) -> TensorSpec:
    """What a tensor input's shape says: ``[N, C, H, W]`` or ``[N, H, W, C]`` with C 1 or 3.

    Dimensions that are names or None (dynamic) say nothing; a shape whose
    channels could be either axis (``[N, 3, H, 3]``) says nothing of the layout.
    ``element_type`` (ONNX's ``tensor(float)``, ...) gives the dtype.
    """
    dtype = _ONNX_DTYPES.get(element_type or "")
    if len(shape) != 4:
        return TensorSpec(dtype=dtype)
    dims = [d if isinstance(d, int) and not isinstance(d, bool) and d > 0 else None for d in shape]
    first, last = dims[1] in (1, 3), dims[3] in (1, 3)
    if first and not last:
        layout, c, h, w = "NCHW", dims[1], dims[2], dims[3]
    elif last and not first:
        layout, c, h, w = "NHWC", dims[3], dims[1], dims[2]
    else:
        return TensorSpec(dtype=dtype)
    size = (w, h) if w is not None and h is not None else None
    return TensorSpec(layout=layout, size=size, channels=c, dtype=dtype)


# -- parsing one value -------------------------------------------------------------------


def _layout(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in LAYOUTS:
        raise ValueError(f"must be one of {', '.join(LAYOUTS)}. Got {value!r} instead.")
    return text


def _scale(value: Any) -> str:
    text = str(value).strip()
    if text not in SCALES:
        raise ValueError(f"must be one of {', '.join(SCALES)}. Got {value!r} instead.")
    return text


def _dtype(value: Any) -> str:
    text = getattr(value, "__name__", None) or str(value)  # numpy.float32 or "float32"
    text = text.strip().lower()
    if text not in DTYPES:
        raise ValueError(f"must be one of {', '.join(DTYPES)}. Got {value!r} instead.")
    return text


def _size(value: Any) -> tuple[int, int]:
    """``"224x224"`` (width x height), a (width, height) pair, or one side of a square."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"must look like WIDTHxHEIGHT, e.g. 224x224. Got {value!r} instead.")
        numbers = [match.group(1), match.group(2)]
    else:
        numbers = [value, value] if isinstance(value, int) else list(value)
    try:
        width, height = (int(v) for v in numbers)
    except (TypeError, ValueError):
        raise ValueError(f"must be a (width, height) pair. Got {value!r} instead.") from None
    if width < 1 or height < 1:
        raise ValueError(f"must be positive. Got {value!r} instead.")
    return width, height


def _numbers(positive: bool) -> Callable[[Any], tuple[float, ...]]:
    def parse(value: Any) -> tuple[float, ...]:
        import math

        parts = value.split(",") if isinstance(value, str) else value
        if isinstance(parts, (int, float)) or not hasattr(parts, "__iter__"):
            parts = [parts]
        try:
            numbers = tuple(float(p) for p in parts)
        except (TypeError, ValueError):
            numbers = ()
        ok = len(numbers) in (1, 3) and all(math.isfinite(v) for v in numbers)
        if not ok or (positive and any(v <= 0 for v in numbers)):
            what = "positive numbers" if positive else "numbers"
            raise ValueError(
                f"must be one or three {what} (one per channel, R,G,B). Got {value!r} instead."
            )
        return numbers

    return parse


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "layout": _layout,
    "size": _size,
    "scale": _scale,
    "mean": _numbers(positive=False),
    "std": _numbers(positive=True),
    "dtype": _dtype,
    "channels": int,
}

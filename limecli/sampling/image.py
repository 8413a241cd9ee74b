"""Superpixels and perturbed images: the interpretable representation of an image.

The image is cut into superpixels (segments) numbered 0..K-1; a perturbed
sample is a binary vector saying which superpixels stay, and the image the
model sees has every switched-off superpixel filled with the hide colour.
Perturbed images are built a batch at a time, in tiles of a block of pixels by
a few samples, so a tile (and the image's, the fill's and the segment map's
block) stays in the CPU cache: the tile is set to the fill, then one masked
copy puts back the kept pixels, each pixel's channels moved as one item (a
``V12`` view of three float32). The pixel mask is the per-sample segment-on
table indexed with the block's segment map. No Python loop over segments, no
temporaries the size of the batch, each output byte goes to memory once, and
a batch can be built into a buffer the caller reuses (``out``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from limecli.config import SEGMENTERS
from limecli.errors import InputDataError, ParameterError

#: Bytes of perturbed images built per step (see ImageSampler.images): about an L2 cache.
_STEP_BYTES = 1024 * 1024
#: Pixels per block (see ImageSampler.images): a block of the image, the fill and the
#: segment map (28 bytes a pixel) stays in the cache while every sample's tile is built.
_BLOCK_PIXELS = 32 * 1024

#: Segmenter parameters and their defaults (quickshift's are the reference implementation's).
SEGMENTER_DEFAULTS: dict[str, dict[str, Any]] = {
    "quickshift": {"kernel_size": 4, "max_dist": 200.0, "ratio": 0.2},
    "slic": {"n_segments": 50, "compactness": 10.0, "sigma": 0.0},
    "felzenszwalb": {"scale": 100.0, "sigma": 0.8, "min_size": 50},
}


def segment(
    pixels: np.ndarray,
    segmenter: str | Callable[[np.ndarray], np.ndarray] = "quickshift",
    **params: Any,
) -> np.ndarray:
    """Superpixel labels (H, W) numbered 0..K-1 for an (H, W, 3) image in 0-255.

    ``segmenter`` is one of :data:`SEGMENTERS` (``params`` override
    :data:`SEGMENTER_DEFAULTS`; ``None`` values are ignored) or a function
    taking the image as float in 0-1 and returning a label image.
    """
    image = np.asarray(pixels, dtype=np.float64) / 255.0
    if callable(segmenter):
        labels = np.asarray(segmenter(image))
        return relabel(labels, image.shape[:2], "the segmenter function")
    if segmenter not in SEGMENTERS:
        listed = ", ".join(repr(s) for s in SEGMENTERS)
        raise ParameterError(
            f"The 'segmenter' parameter must be one of {listed}. Got {segmenter!r} instead."
        )
    settings = resolve_segmenter_params(segmenter, params)
    from skimage import segmentation

    if segmenter == "quickshift":
        labels = segmentation.quickshift(
            image,
            kernel_size=settings["kernel_size"],
            max_dist=settings["max_dist"],
            ratio=settings["ratio"],
            rng=42,
        )
    elif segmenter == "slic":
        labels = segmentation.slic(
            image,
            n_segments=settings["n_segments"],
            compactness=settings["compactness"],
            sigma=settings["sigma"],
            start_label=0,
            channel_axis=-1,
        )
    else:
        labels = segmentation.felzenszwalb(
            image,
            scale=settings["scale"],
            sigma=settings["sigma"],
            min_size=settings["min_size"],
            channel_axis=-1,
        )
    return relabel(labels, image.shape[:2], segmenter)


def resolve_segmenter_params(segmenter: str, params: dict[str, Any]) -> dict[str, Any]:
    """The segmenter's defaults updated with the non-None ``params``; unknown names refused."""
    from limecli.validation import check_float, check_int

    defaults = SEGMENTER_DEFAULTS[segmenter]
    unknown = [k for k, v in params.items() if v is not None and k not in defaults]
    if unknown:
        raise ParameterError(
            f"{segmenter} does not take {', '.join(sorted(unknown))}; "
            f"its parameters are {', '.join(defaults)}"
        )
    settings = dict(defaults)
    settings.update({k: v for k, v in params.items() if v is not None})
    for name in ("kernel_size", "n_segments", "min_size"):
        if name in settings:
            check_int(name, settings[name], min_value=1)
    for name in ("max_dist", "scale", "compactness"):
        if name in settings:
            settings[name] = check_float(name, settings[name], min_value=0)
    for name in ("ratio", "sigma"):
        if name in settings:
            settings[name] = check_float(name, settings[name], min_value=0, exclusive=False)
    return settings


def relabel(labels: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """Renumber any label image to 0..K-1 (in order of the original labels)."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape):
        raise InputDataError(
            f"{where} gave labels of shape {labels.shape} for an image of {shape[1]}x{shape[0]}"
        )
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def read_segments(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """A label image from a file: ``.npy`` integer array, or an image whose distinct
    values (grayscale) or colours (RGB) are the segments. ``size`` is (width, height)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"segments file not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            labels = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputDataError(f"cannot read segments file {path}: {e}") from e
        if labels.ndim != 2 or not (
            np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.bool_)
        ):
            raise InputDataError(
                f"segments file {path} must hold a 2-D integer array; "
                f"got {labels.dtype} of shape {labels.shape}"
            )
    else:
        try:
            with Image.open(path) as im:
                im.load()
                if im.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                    rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
                    labels = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
                else:
                    labels = np.asarray(im, dtype=np.int64)
        except (OSError, SyntaxError, ValueError) as e:
            raise InputDataError(f"cannot read segments file {path}: {e}") from e
    width, height = size
    if labels.shape != (height, width):
        raise InputDataError(
            f"segments file {path} is {labels.shape[1]}x{labels.shape[0]} but the image is "
            f"{width}x{height} (after 'resize', if given)",
            parameters=("resize",),
        )
    return relabel(labels, (height, width), str(path))


def parse_hide_color(value: Any) -> str | tuple[float, float, float]:
    """``"mean"``, a gray level ``0``..``255`` or an ``R,G,B`` colour (0-255 each)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "mean"):
        return "mean"
    parts: list[Any]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, (int, float, np.integer, np.floating)):
        parts = [value]
    else:
        parts = list(value)
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) == 1:
        numbers = numbers * 3
    if len(numbers) != 3 or not all(np.isfinite(n) and 0 <= n <= 255 for n in numbers):
        raise ParameterError(
            "The 'hide_color' parameter must be 'mean', a gray level 0-255 or an R,G,B colour "
            f"(0-255 each). Got {value!r} instead."
        )
    return (numbers[0], numbers[1], numbers[2])


def segment_stats(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area (pixels) and bounding box [x0, y0, x1, y1] (inclusive) of every segment."""
    k = int(segments.max()) + 1
    flat = segments.ravel()
    area = np.bincount(flat, minlength=k)
    ys, xs = np.divmod(np.arange(flat.size), segments.shape[1])
    bbox = np.empty((k, 4), dtype=np.int64)
    big = np.iinfo(np.int64).max
    x0 = np.full(k, big)
    y0 = np.full(k, big)
    x1 = np.full(k, -1)
    y1 = np.full(k, -1)
    np.minimum.at(x0, flat, xs)
    np.minimum.at(y0, flat, ys)
    np.maximum.at(x1, flat, xs)
    np.maximum.at(y1, flat, ys)
    bbox[:, 0], bbox[:, 1], bbox[:, 2], bbox[:, 3] = x0, y0, x1, y1
    return area, bbox


class ImageSampler:
    """Draws on/off masks over the superpixels and builds the perturbed images.

    ``pixels`` is the (H, W, 3) image in 0-255; ``value_scale`` multiplies the
    values handed to the model (1/255 for a model taking 0-1).
    """

    def __init__(
        self,
        pixels: np.ndarray,
        segments: np.ndarray,
        hide_color: str | tuple[float, float, float] = "mean",
        value_scale: float = 1.0 / 255.0,
    ) -> None:
        self.segments = np.ascontiguousarray(segments, dtype=np.intp)
        self.n_segments = int(self.segments.max()) + 1
        image = np.asarray(pixels, dtype=np.float32)
        if hide_color == "mean":
            counts = np.bincount(self.segments.ravel(), minlength=self.n_segments)
            means = (
                np.stack(
                    [
                        np.bincount(
                            self.segments.ravel(),
                            weights=image[:, :, c].ravel(),
                            minlength=self.n_segments,
                        )
                        for c in range(image.shape[2])
                    ],
                    axis=1,
                )
                / np.maximum(counts, 1)[:, None]
            )
            fill = means.astype(np.float32)[self.segments]
        else:
            fill = np.broadcast_to(np.asarray(hide_color, dtype=np.float32), image.shape)
        scale = np.float32(value_scale)
        self.shape = image.shape
        channels = image.shape[2]
        self.image = np.ascontiguousarray(image * scale, dtype=np.float32).ravel()
        self.fill = np.ascontiguousarray(fill * scale, dtype=np.float32).ravel()
        # One opaque item per pixel (all its channels): a masked copy then needs one mask
        # value per pixel, and moves the channels' bytes unchanged.
        self._pixel_dtype = np.dtype(f"V{4 * channels}")
        self._pixel_segments = self.segments.ravel()
        self._image_pixels = self.image.view(self._pixel_dtype)
        self._fill_pixels = self.fill.view(self._pixel_dtype)
        # Blocks of about _BLOCK_PIXELS pixels (even sizes), and samples per step: a tile
        # of a step's rows over a block about fits in L2 cache.
        n_pixels = self._pixel_segments.size
        n_blocks = max(1, -(-n_pixels // _BLOCK_PIXELS))
        bounds = [n_pixels * b // n_blocks for b in range(n_blocks + 1)]
        self._blocks = list(itertools.pairwise(bounds))
        block_bytes = (bounds[1] - bounds[0]) * self._pixel_dtype.itemsize
        self._step = max(1, _STEP_BYTES // max(block_bytes, 1))

    def draw(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """(num_samples, K) uint8 masks: row 0 all on (the image itself), others uniform 0/1."""
        masks = rng.integers(0, 2, size=(num_samples, self.n_segments), dtype=np.uint8)
        masks[0] = 1
        return masks

    def images(self, masks: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The perturbed images (n, H, W, C) float32 for ``masks`` (n, K).

        ``out``: a C-contiguous float32 array of n * H * W * C values to build them in
        (every value is written); by default a new one.
        """
        on = np.asarray(masks).astype(bool, copy=False)
        n = on.shape[0]
        if out is None:
            out = np.empty((n, self.image.size), dtype=np.float32)
        elif out.dtype != np.float32 or out.size != n * self.image.size:
            raise ValueError(f"out must hold {n} x {self.image.size} float32 values")
        pixels = out.reshape(n, -1).view(self._pixel_dtype)  # (n, H*W); a view: C-contiguous
        for first, last in self._blocks:
            segments = self._pixel_segments[first:last]
            fill = self._fill_pixels[first:last]
            image = self._image_pixels[first:last]
            for start in range(0, n, self._step):
                stop = min(start + self._step, n)
                tile = pixels[start:stop, first:last]
                tile[...] = fill
                np.copyto(tile, image, where=on[start:stop].take(segments, axis=1))
        return out.reshape(n, *self.shape)

    def batches(self, masks: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
        """Perturbed images ``batch_size`` at a time, each a new array (memory stays bounded
        when the caller lets go of one batch before asking for the next)."""
        for start in range(0, masks.shape[0], batch_size):
            yield self.images(masks[start : start + batch_size])

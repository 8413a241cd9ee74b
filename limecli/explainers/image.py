"""Image LIME (Ribeiro et al. 2016): superpixels switched off at random.

Defaults follow the reference implementation: quickshift superpixels
(kernel_size 4, max_dist 200, ratio 0.2), hidden superpixels filled with their
own mean colour, 1000 samples (row 0 the image itself), cosine distance on the
binary on/off vectors, exponential kernel of width 0.25, weighted
Ridge(alpha=1) surrogate.

What the model receives: by default a batch ``(n, H, W, 3)`` of float32 RGB
images, channels last, values in 0-1. ``resize``, ``scale``, ``mean``, ``std``,
``layout`` and ``dtype`` change that tensor, and what they leave unsaid comes
from the model (an ONNX input shape, a predict script's ``INPUT_*`` constants):
see :mod:`limecli.model.tensor_spec`. A scikit-learn estimator (or ONNX model)
whose ``n_features_in_`` is ``H*W*3`` gets each image's tensor flattened, i.e.
``tensor.reshape(n, -1)`` (row-major (y, x, channel) order for NHWC); one whose
``n_features_in_`` is ``H*W`` gets the flattened gray level
(0.299 R + 0.587 G + 0.114 B). Each call gets a C-contiguous array that the model
may keep: one it keeps is never written again, one it lets go of holds the next
batch (memory is one batch; see :mod:`limecli.sampling.image_batches`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from limecli.config import SEGMENTERS
from limecli.errors import InputDataError, ParameterError
from limecli.explainers.base import Explainer
from limecli.explanation import FeatureWeight, ImageExplanation
from limecli.inputs.image import DEFAULT_MAX_PIXELS, LoadedImage, from_array, read_image
from limecli.inputs.ref import InputRef
from limecli.model.tensor_spec import TensorSpec, declared_spec
from limecli.sampling.image import (
    ImageSampler,
    parse_hide_color,
    read_segments,
    resolve_segmenter_params,
    segment,
    segment_stats,
)
from limecli.sampling.image_batches import predict_batches
from limecli.segment_cache import cached_segment
from limecli.surrogate import cosine_distances_to_first
from limecli.validation import check_choice, check_sample_memory

__all__ = ["ImageExplainer", "ImageExplanation", "check_cache_dir", "explain_image"]

SCALES = {"0-1": 1.0 / 255.0, "0-255": 1.0}
#: Images per model call unless told otherwise (100 RGB 224x224 float32 images are 60 MB).
DEFAULT_IMAGE_BATCH_SIZE = 100
#: Classification explains the K most probable classes unless labels are named.
DEFAULT_TOP_LABELS = 5
DEFAULT_KERNEL_WIDTH = 0.25


@dataclass
class ImageInstance:
    """An image to explain: its pixels, its superpixels, and what the record says of it."""

    pixels: np.ndarray
    segments: np.ndarray
    #: Whether the superpixels were supplied rather than computed by the segmenter.
    supplied: bool
    input: dict[str, Any]


class ImageExplainer(Explainer[ImageInstance]):
    """Explains one image's prediction with superpixel LIME.

    ``model`` is a :class:`~limecli.model.predictor.Predictor` (see
    :func:`limecli.load_model`), a fitted estimator or a callable taking a
    batch ``(n, H, W, 3)`` and returning probabilities or values.

    The tensor the model receives: ``resize`` (width, height or ``"WxH"``: images
    of another size are resized first), ``scale`` ("0-1", "0-255"), per-channel
    ``mean`` and ``std`` (applied after scaling), ``layout`` ("NHWC", "NCHW") and
    ``dtype`` ("float32", "float64", "uint8"); None takes what the model says,
    else the default (see :mod:`limecli.model.tensor_spec`). The result is
    :attr:`input_spec`.

    Superpixels of a named segmenter are cached (see :mod:`limecli.segment_cache`):
    in memory always, and in ``cache_dir`` (created if needed) when given, so
    explaining the same image again skips the segmenter. The explanation is
    the same either way.
    """

    kind = "image"
    distance = "cosine"
    default_top_labels = DEFAULT_TOP_LABELS
    default_batch_size = DEFAULT_IMAGE_BATCH_SIZE
    kernel_width: float
    batch_size: int

    def __init__(
        self,
        model: Any,
        *,
        segmenter: str | Callable[[np.ndarray], np.ndarray] = "quickshift",
        segmenter_params: dict[str, Any] | None = None,
        hide_color: str | float | Sequence[float] = "mean",
        scale: str | None = None,
        kernel_width: float = DEFAULT_KERNEL_WIDTH,
        feature_selection: str = "auto",
        num_samples: int = 1000,
        num_features: int | str = 5,
        batch_size: int | None = None,
        mode: str | None = None,
        cache_dir: str | Path | None = None,
        class_names: Sequence[str] | None = None,
        resize: str | tuple[int, int] | None = None,
        layout: str | None = None,
        mean: str | float | Sequence[float] | None = None,
        std: str | float | Sequence[float] | None = None,
        dtype: str | None = None,
    ) -> None:
        super().__init__(
            model,
            mode=mode,
            num_samples=num_samples,
            num_features=num_features,
            feature_selection=feature_selection,
            kernel_width=kernel_width,
            batch_size=batch_size,
            class_names=class_names,
        )
        if scale is not None:
            check_choice("scale", scale, SCALES)
        given = TensorSpec.parse(
            resize=resize, scale=scale, layout=layout, mean=mean, std=std, dtype=dtype
        )
        #: The tensor the model receives: what was given, else what the model says, else
        #: the defaults.
        self.input_spec = given.over(declared_spec(self.predictor)).resolved()
        self.segmenter_params = dict(segmenter_params or {})
        if not callable(segmenter):
            check_choice("segmenter", segmenter, SEGMENTERS)
            self.segmenter_params = resolve_segmenter_params(segmenter, self.segmenter_params)
        self.segmenter = segmenter
        self.hide_color = parse_hide_color(hide_color)
        self.scale = str(self.input_spec.scale)
        self.cache_dir = check_cache_dir(cache_dir)

    def model_input(self, batch: np.ndarray) -> np.ndarray:
        """The tensor the model takes from a scaled batch ``(n, H, W, 3)`` (see
        :attr:`input_spec`; flattened for pixel-vector estimators)."""
        spec = self.input_spec
        n_in = self.predictor.n_features_in
        n, h, w, c = batch.shape
        if n_in is not None and n_in == h * w and spec.channels != 1:
            spec = replace(spec, channels=1)  # an estimator over gray pixels
        tensor = spec.to_tensor(batch)
        if n_in is None:
            return tensor
        if n_in == tensor[0].size:
            return tensor.reshape(n, -1)
        raise InputDataError(
            f"the model expects {n_in} features but a {w}x{h} RGB image flattens to {h * w * c} "
            f"({h * w} in gray); resize the image with 'resize'",
            parameters=("resize",),
        )

    def explain(
        self,
        image: LoadedImage | np.ndarray | Any,
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | None = None,
        num_features: int | str | None = None,
        input_info: dict[str, Any] | None = None,
        segments: np.ndarray | None = None,
    ) -> ImageExplanation:
        """Explain ``image`` (a LoadedImage, an array or a PIL image).

        Classification explains the named ``labels``, plus the ``top_labels``
        most probable; with neither, the 5 most probable. ``segments`` supplies
        a label image instead of running the segmenter. ``input_info``: the
        image's identity in the record (by default its source).
        """
        self._check_instance(image)
        request = self.request(
            seed=seed,
            labels=labels,
            top_labels=top_labels,
            num_samples=num_samples,
            num_features=num_features,
        )
        subject = self._prepare(image, input_info, segments)
        return cast(ImageExplanation, self._explain(subject, request))

    def _prepare(
        self,
        instance: Any,
        input_info: dict[str, Any] | None,
        segments: np.ndarray | None = None,
    ) -> ImageInstance:
        loaded = instance if isinstance(instance, LoadedImage) else from_array(instance)
        size = self.input_spec.size
        if size is not None and loaded.size != size:  # the model takes one size
            resized = from_array(loaded.pixels / np.float32(255.0), resize=size)
            loaded = replace(loaded, pixels=resized.pixels)
        pixels = loaded.pixels
        if segments is None and isinstance(self.segmenter, str):
            seg = cached_segment(pixels, self.segmenter, self.segmenter_params, self.cache_dir)
        elif segments is None:  # a function cannot be keyed: it runs every time
            seg = segment(pixels, self.segmenter, **self.segmenter_params)
        else:
            from limecli.sampling.image import relabel

            seg = relabel(segments, pixels.shape[:2], "the segments")
        identity = InputRef.file(loaded.source).to_dict() if input_info is None else input_info
        described = {
            **identity,
            "image_mode": loaded.original_mode,
            "original_size": list(loaded.original_size),
        }
        return ImageInstance(pixels, seg, segments is not None, described)

    def _sample(
        self, subject: ImageInstance, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        # Per model call: a batch of perturbed float32 images, and the tensor made of them.
        check_sample_memory(
            n,
            int(subject.segments.max()) + 1,
            batch=min(n, self.batch_size),
            per_input=subject.pixels.size * 4 * 2,
        )
        sampler = ImageSampler(
            subject.pixels, subject.segments, self.hide_color, SCALES[self.scale]
        )
        masks = sampler.draw(n, rng)
        # One batch alive at a time, its buffer reused while the model keeps no reference.
        outputs = predict_batches(
            sampler, masks, self.batch_size, lambda batch: self.predictor(self.model_input(batch))
        )
        return masks.astype(np.float64), outputs

    def _distances(self, data: np.ndarray) -> np.ndarray:
        return cosine_distances_to_first(data)

    def _describer(self, subject: ImageInstance) -> Callable[[int], FeatureWeight]:
        area, bbox = segment_stats(subject.segments)

        def describe(j: int) -> FeatureWeight:
            return FeatureWeight(
                name=f"segment {j}",
                feature=j,
                value=1,
                weight=0.0,
                extra={"area": int(area[j]), "bbox": [int(v) for v in bbox[j]]},
            )

        return describe

    def _params(self, subject: ImageInstance) -> dict[str, Any]:
        if subject.supplied:
            segmenter = "file"
        else:
            segmenter = self.segmenter if isinstance(self.segmenter, str) else "custom"
        return {
            **self._surrogate_params(),
            "segmenter": segmenter,
            "segmenter_params": {} if subject.supplied else self.segmenter_params,
            "hide_color": (self.hide_color if self.hide_color == "mean" else [*self.hide_color]),
            "scale": self.scale,
            **self.input_spec.params(),
            "batch_size": self.batch_size,
        }

    def _input(self, subject: ImageInstance) -> dict[str, Any]:
        return subject.input

    def _data(self, subject: ImageInstance) -> dict[str, Any]:
        height, width = subject.pixels.shape[:2]
        # As the sampler counts them: labels 0..max, so max + 1 superpixels.
        num_segments = int(subject.segments.max()) + 1
        return {"width": width, "height": height, "num_segments": num_segments}

    def _record(self, subject: ImageInstance, **fields: Any) -> ImageExplanation:
        return ImageExplanation(**fields, pixels=subject.pixels, segments=subject.segments)


def check_cache_dir(cache_dir: str | Path | None) -> Path | None:
    """``cache_dir`` as an absolute path (batch workers may run elsewhere), created if needed.

    ParameterError if it is a file or cannot be created: asked-for caching that
    silently never happens would only look like a slow machine.
    """
    if cache_dir is None:
        return None
    path = Path(os.path.abspath(cache_dir))
    if path.exists() and not path.is_dir():
        raise ParameterError(f"the cache folder {cache_dir} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ParameterError(
            f"cannot create the cache folder {cache_dir}: {e.strerror or e}"
        ) from None
    return path


def explain_image(
    model: Any,
    image: str | Path | np.ndarray | LoadedImage | Any,
    *,
    num_samples: int = 1000,
    num_features: int | str = 5,
    seed: int | None = None,
    labels: Sequence[str | int] | None = None,
    top_labels: int | None = None,
    segmenter: str | Callable[[np.ndarray], np.ndarray] = "quickshift",
    segmenter_params: dict[str, Any] | None = None,
    segments: np.ndarray | str | Path | None = None,
    hide_color: str | float | Sequence[float] = "mean",
    scale: str | None = None,
    resize: str | tuple[int, int] | None = None,
    layout: str | None = None,
    mean: str | float | Sequence[float] | None = None,
    std: str | float | Sequence[float] | None = None,
    dtype: str | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    feature_selection: str = "auto",
    batch_size: int | None = None,
    mode: str | None = None,
    cache_dir: str | Path | None = None,
    class_names: Sequence[str] | None = None,
) -> ImageExplanation:
    """Explain ``model``'s prediction for ``image`` (a file path, an array or a PIL image).

    ``segments`` is a label image (array, ``.npy`` or image file) to use
    instead of ``segmenter``. ``cache_dir`` keeps superpixel maps on disk for
    the next run. ``resize``, ``scale``, ``mean``, ``std``, ``layout`` and
    ``dtype`` describe the tensor the model receives (None: the model's, else
    the default). See :class:`ImageExplainer` for the rest.
    """
    explainer = ImageExplainer(
        model,
        segmenter=segmenter,
        segmenter_params=None if segments is not None else segmenter_params,
        hide_color=hide_color,
        scale=scale,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
        mode=mode,
        cache_dir=cache_dir,
        class_names=class_names,
        resize=resize,
        layout=layout,
        mean=mean,
        std=std,
        dtype=dtype,
    )
    size = explainer.input_spec.size
    if isinstance(image, (str, Path)):
        loaded = read_image(image, resize=size, max_pixels=max_pixels)
    elif isinstance(image, LoadedImage):
        loaded = image
    else:
        loaded = from_array(image, resize=size)
    seg: np.ndarray | None
    if isinstance(segments, (str, Path)):
        seg = read_segments(segments, loaded.size)
    elif segments is not None:
        seg = np.asarray(segments)
    else:
        seg = None
    if seg is not None and segmenter_params:
        raise ParameterError("segmenter parameters do not apply when segments are supplied")
    return explainer.explain(loaded, seed=seed, labels=labels, top_labels=top_labels, segments=seg)

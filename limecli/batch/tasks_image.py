"""Images in a batch: the inputs (a path and a picture name each) and the task that reads,
explains and draws one.

The pixels are read in the worker, one image at a time, so a folder of images
is never loaded at once and little travels between processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from limecli.batch.runner import BatchInput
from limecli.errors import InputDataError, ParameterError
from limecli.inputs.image import DEFAULT_MAX_PIXELS, parse_resize, read_image
from limecli.inputs.ref import InputRef

#: Per-input pictures a batch can write into its pictures folder: file suffix per picture.
PICTURES = {
    "overlay": ".overlay.png",
    "mask": ".mask.png",
    "heatmap": ".heatmap.png",
    "segments": ".segments.png",
}


def safe_label(label: str) -> str:
    """``label`` as a part of a file name: characters other than letters, digits, ``-``, ``_``
    and ``.`` become ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(label))


def picture_name(stem: str, kind: str, label: str | None = None) -> str:
    """The file name of a batch picture: ``stem.overlay.png``, or per label
    ``stem.overlay.LABEL.png`` (see :func:`safe_label`)."""
    if label is None:
        return f"{stem}{PICTURES[kind]}"
    return f"{stem}{PICTURES[kind][: -len('.png')]}.{safe_label(label)}.png"


def picture_template(stem: str, kind: str) -> str:
    """The per-label file name of a batch picture with ``{label}`` for the label."""
    return f"{stem}{PICTURES[kind][: -len('.png')]}.{{label}}.png"


def image_batch_inputs(
    paths: Sequence[str],
    *,
    stems: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
) -> Iterator[BatchInput]:
    """The inputs of an image batch, lazily, for :class:`ImageBatchTask`.

    Each is named ``InputRef.file(source)`` (``sources``, default the paths as
    given) and carries ``(absolute path, stem)``: its pictures are written as
    ``stem + suffix`` (``stems``, default none).
    """
    names = list(paths) if sources is None else list(sources)
    stems = [""] * len(paths) if stems is None else stems
    for path, name, stem in zip(paths, names, stems, strict=True):
        yield BatchInput(InputRef.file(name), (os.path.abspath(path), stem))


class ImageBatchTask:
    """Reads, explains and draws one image of a batch (``per_input(ImageBatchTask(...))``).

    Runs in the worker and pickles (for ``jobs`` > 1 and Dask). ``item.payload``
    is ``(path, stem)``: the image is read there, one at a time, and its
    pictures are written atomically to ``out_dir`` for each of ``pictures`` (keys
    of :data:`PICTURES`): ``stem + suffix`` for the first explained label, or
    with ``every_label`` ``stem.KIND.LABEL.png`` for each (:func:`picture_name`).
    Give ``path`` absolute (and ``out_dir`` is made so): a worker process may
    not share the caller's current folder.
    The returned explanation carries no pixels, so little travels back.
    """

    def __init__(
        self,
        explainer: Any,
        *,
        labels: Any = None,
        top_labels: int | None = None,
        resize: str | tuple[int, int] | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        segments_file: str | Path | None = None,
        out_dir: str | Path | None = None,
        pictures: tuple[str, ...] = ("overlay",),
        positive_only: bool = True,
        hide_rest: bool = False,
        every_label: bool = False,
    ) -> None:
        unknown = [p for p in pictures if p not in PICTURES]
        if unknown:
            raise ParameterError(
                f"unknown picture(s) {unknown}: expected {', '.join(PICTURES)}",
                parameters=("pictures",),
            )
        self.explainer = explainer
        self.labels = list(labels or [])
        self.top_labels = top_labels
        self.resize = parse_resize(resize)
        self.max_pixels = max_pixels
        self.segments_file = None if segments_file is None else Path(segments_file)
        self.out_dir = None if out_dir is None else Path(os.path.abspath(out_dir))
        self.pictures = tuple(pictures)
        self.positive_only = positive_only
        self.hide_rest = hide_rest
        self.every_label = every_label

    def __call__(self, item: BatchInput) -> Any:
        path, stem = item.payload
        shown = item.ref.source or str(path)
        try:
            loaded = read_image(path, resize=self.resize, max_pixels=self.max_pixels)
        except InputDataError as e:
            # The payload path is absolute (workers may run elsewhere); messages name the input.
            raise InputDataError(
                str(e).replace(str(path), shown), parameters=e.parameters
            ) from None
        loaded.source = shown
        segments = None
        if self.segments_file is not None:
            from limecli.sampling.image import read_segments

            segments = read_segments(self.segments_file, loaded.size)
        explanation = self.explainer.explain(
            loaded,
            seed=item.seed,
            labels=self.labels,
            top_labels=self.top_labels,
            segments=segments,
        )
        if self.out_dir is not None and self.pictures:
            self._draw(explanation, stem)
        explanation.pixels = explanation.segments = None
        return explanation

    def _draw(self, explanation: Any, stem: str) -> None:
        from limecli.render.overlay import picture, save_png

        assert self.out_dir is not None
        labels = explanation.labels if self.every_label else explanation.labels[:1]
        for label in labels:
            for kind in self.pictures:
                array = picture(
                    kind,
                    explanation.pixels,
                    explanation.segments,
                    label,
                    positive_only=self.positive_only,
                    hide_rest=self.hide_rest,
                )
                name = picture_name(stem, kind, label.label if self.every_label else None)
                save_png(self.out_dir / name, array)

"""The pictures of an image explanation: overlay, mask, weight heatmap and numbered segments.

One colour code everywhere (see :mod:`limecli.render.palette`): blue supports,
orange opposes. Outlines are three strokes inside a superpixel's edge: black
on the edge, blue (supports) or orange (opposes), then white: one of black
and white stands out on any colour, and the colour between them says the sign.

* overlay: the image with the superpixels that matter outlined: those whose
  |weight| is at least a fifth of the label's largest and not marked as
  possibly zero (:data:`~limecli.render.superpixels.OUTLINE_SHARE`).
  Positive-only (default): the supporting ones, outlined only. Both: also the
  opposing ones, and every explained superpixel tinted blue (supports) or
  orange (opposes), the tint proportional to |weight| (the largest at
  :data:`TINT`). Hide-rest: every pixel outside the outlined superpixels is black.
* mask: 8-bit grayscale, 255 where a superpixel supports the label, 128 where
  one opposes it (only with both), 0 elsewhere (every explained superpixel).
* heatmap: the image in light grey, each superpixel coloured by its weight, with
  a colour scale under it (:mod:`limecli.render.heatmap`). A ``.npy`` path gets
  the raw float32 weights instead (:func:`weight_map`).
* segments: every superpixel outlined with its id, the N of "segment N" in the
  tables (:mod:`limecli.render.segment_labels`).

Overlays, masks and segment pictures are the size of the explained image; the
heatmap adds its colour scale below. Files are written atomically (temporary
file in the same folder, then renamed) and marked as limecli's.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from limecli.render.heatmap import heatmap_image
from limecli.render.palette import DARK, LIGHT, OPPOSE, SUPPORT
from limecli.render.segment_labels import segments_image
from limecli.render.superpixels import (
    outline_strokes,
    segment_count,
    segment_weights,
    shown_segments,
    weight_map,
)
from limecli.validation import check_choice

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation

__all__ = [
    "KINDS",
    "TINT",
    "heatmap_image",
    "mask_image",
    "overlay_image",
    "picture",
    "save_png",
    "segments_image",
    "selection_mask",
    "weight_map",
]

#: Tint of the superpixel with the largest |weight| (--both); others in proportion.
TINT = 0.35
#: The pictures :func:`picture` draws.
KINDS = ("overlay", "mask", "heatmap", "segments")


def selection_mask(
    segments: np.ndarray, label: LabelExplanation, *, positive_only: bool = True
) -> np.ndarray:
    """(H, W) int8: 1 in supporting superpixels, -1 in opposing ones (unless positive_only)."""
    per_segment = np.zeros(segment_count(segments, label), dtype=np.int8)
    for feat in label.features:
        if feat.weight > 0:
            per_segment[int(feat.feature)] = 1
        elif feat.weight < 0 and not positive_only:
            per_segment[int(feat.feature)] = -1
    return per_segment[segments]


def overlay_image(
    pixels: np.ndarray,
    segments: np.ndarray,
    label: LabelExplanation,
    *,
    positive_only: bool = True,
    hide_rest: bool = False,
) -> np.ndarray:
    """(H, W, 3) uint8 overlay of one label's explanation on ``pixels`` (0-255)."""
    out = np.clip(np.asarray(pixels, dtype=np.float32), 0, 255).copy()
    count = segment_count(segments, label)
    support, oppose = shown_segments(label, count, positive_only=positive_only)
    if not positive_only:
        out = tinted(out, segments, segment_weights(label, count))
    shown = support | oppose
    if hide_rest:
        out[~shown[segments]] = 0.0
    for chosen, colour in ((support, SUPPORT), (oppose, OPPOSE)):
        # Black on the edge, the sign's colour, white inside: the colour reads between a dark
        # and a light stroke, and one of those two stands out on any image.
        dark, band, light = outline_strokes(segments, chosen, strokes=3)
        out[dark] = DARK
        out[band] = colour
        out[light] = LIGHT
    return np.round(out).astype(np.uint8)


def tinted(image: np.ndarray, segments: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3 float) with each superpixel tinted blue (weight > 0) or orange, the
    tint's share :data:`TINT` x |weight| / largest |weight|; the tinted pixels first lose as
    twice as much of their own colour (towards their grey), so the tint reads on any hue."""
    top = float(np.abs(weights).max()) if weights.size else 0.0
    if top == 0:
        return image
    share = (TINT * np.abs(weights) / top).astype(np.float32)[segments][..., None]
    colour = np.where(
        (weights >= 0)[:, None],
        np.asarray(SUPPORT, dtype=np.float32),
        np.asarray(OPPOSE, dtype=np.float32),
    )[segments]
    grey = (image @ np.asarray([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    faded = (1 - 2 * share) * image + 2 * share * grey
    return (1 - share) * faded + share * colour


def mask_image(
    segments: np.ndarray, label: LabelExplanation, *, positive_only: bool = True
) -> np.ndarray:
    """(H, W) uint8: 255 support, 128 opposition (unless positive_only), 0 elsewhere."""
    sel = selection_mask(segments, label, positive_only=positive_only)
    out = np.zeros(segments.shape, dtype=np.uint8)
    out[sel > 0] = 255
    out[sel < 0] = 128
    return out


def picture(
    kind: str,
    pixels: np.ndarray,
    segments: np.ndarray,
    label: LabelExplanation,
    *,
    positive_only: bool = True,
    hide_rest: bool = False,
) -> np.ndarray:
    """One picture of an explanation's label, one of :data:`KINDS`: ``overlay``, ``mask``,
    ``heatmap`` (over the greyed image, with its colour scale) or ``segments`` (ids drawn)."""
    if kind == "overlay":
        return overlay_image(
            pixels, segments, label, positive_only=positive_only, hide_rest=hide_rest
        )
    if kind == "mask":
        return mask_image(segments, label, positive_only=positive_only)
    if kind == "segments":
        return segments_image(pixels, segments, label)
    check_choice("kind", kind, KINDS)
    return heatmap_image(segments, label, pixels=pixels)


def save_png(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 (H, W) or (H, W, 3) array as PNG, atomically; ``.npy`` saves the array."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from limecli.atomic import PNG_MARK, write_atomic

    buffer = io.BytesIO()
    if Path(path).suffix.lower() == ".npy":
        np.save(buffer, array, allow_pickle=False)
    else:
        # The mark lets a later run tell its own picture from a user's (see check_overwrite).
        info = PngInfo()
        info.add_text(*PNG_MARK)
        Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", pnginfo=info)
    write_atomic(path, buffer.getvalue())

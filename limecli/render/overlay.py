"""The pictures of an image explanation: overlay, mask and weight heatmap (numpy only).

* overlay: the image with the explanation's superpixels outlined. Positive-only
  (default): the superpixels that support the label, outlined in yellow.
  Both: supporting superpixels tinted and outlined green, opposing ones red.
  Hide-rest: every pixel outside the outlined superpixels is black.
* mask: 8-bit grayscale, 255 where a superpixel supports the label, 128 where
  one opposes it (only with both), 0 elsewhere.
* heatmap: each pixel coloured by its superpixel's weight, white at 0, green
  for support and red for opposition, full colour at the largest |weight|.
  A ``.npy`` path gets the raw float32 weights instead.

All pictures are the size of the explained image. Files are written
atomically (temporary file in the same folder, then renamed).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation

OUTLINE = (255, 255, 0)
SUPPORT = (0, 200, 0)
OPPOSE = (220, 0, 0)
TINT = 0.35


def selection_mask(
    segments: np.ndarray, label: LabelExplanation, *, positive_only: bool = True
) -> np.ndarray:
    """(H, W) int8: 1 in supporting superpixels, -1 in opposing ones (unless positive_only)."""
    per_segment = np.zeros(int(segments.max()) + 1, dtype=np.int8)
    for feat in label.features:
        if feat.weight > 0:
            per_segment[int(feat.feature)] = 1
        elif feat.weight < 0 and not positive_only:
            per_segment[int(feat.feature)] = -1
    return per_segment[segments]


def weight_map(segments: np.ndarray, label: LabelExplanation) -> np.ndarray:
    """(H, W) float32: each pixel's superpixel weight (0 for superpixels not in the explanation)."""
    per_segment = np.zeros(int(segments.max()) + 1, dtype=np.float32)
    for feat in label.features:
        per_segment[int(feat.feature)] = feat.weight
    return per_segment[segments]


def _outline(segments: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Pixels on the inner edge of each chosen superpixel (next to a different superpixel)."""
    inside = chosen[segments]
    edge = np.zeros(segments.shape, dtype=bool)
    # A pixel is on an edge if a 4-neighbour belongs to another superpixel.
    diff_y = segments[1:, :] != segments[:-1, :]
    diff_x = segments[:, 1:] != segments[:, :-1]
    edge[1:, :] |= diff_y
    edge[:-1, :] |= diff_y
    edge[:, 1:] |= diff_x
    edge[:, :-1] |= diff_x
    # The image border closes the outline of superpixels that touch it.
    edge[0, :] = edge[-1, :] = True
    edge[:, 0] = edge[:, -1] = True
    return edge & inside


def overlay_image(
    pixels: np.ndarray,
    segments: np.ndarray,
    label: LabelExplanation,
    *,
    positive_only: bool = True,
    hide_rest: bool = False,
) -> np.ndarray:
    """(H, W, 3) uint8 overlay of one label's explanation on ``pixels`` (0-255)."""
    image = np.clip(np.asarray(pixels, dtype=np.float32), 0, 255)
    k = int(segments.max()) + 1
    positive = np.zeros(k, dtype=bool)
    negative = np.zeros(k, dtype=bool)
    for feat in label.features:
        if feat.weight > 0:
            positive[int(feat.feature)] = True
        elif feat.weight < 0 and not positive_only:
            negative[int(feat.feature)] = True
    out = image.copy()
    if hide_rest:
        out[~(positive | negative)[segments]] = 0.0
    if positive_only:
        out[_outline(segments, positive)] = OUTLINE
    else:
        for chosen, colour in ((positive, SUPPORT), (negative, OPPOSE)):
            region = chosen[segments]
            out[region] = (1 - TINT) * out[region] + TINT * np.asarray(colour, dtype=np.float32)
            out[_outline(segments, chosen)] = colour
    return np.round(out).astype(np.uint8)


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
    """One picture of an explanation's label: ``overlay``, ``mask`` or ``heatmap``."""
    if kind == "overlay":
        return overlay_image(
            pixels, segments, label, positive_only=positive_only, hide_rest=hide_rest
        )
    if kind == "mask":
        return mask_image(segments, label, positive_only=positive_only)
    return heatmap_image(segments, label)


def heatmap_image(segments: np.ndarray, label: LabelExplanation) -> np.ndarray:
    """(H, W, 3) uint8: white at weight 0, green for support, red for opposition."""
    weights = weight_map(segments, label)
    top = float(np.abs(weights).max())
    strength = (np.abs(weights) / top if top > 0 else np.zeros_like(weights))[..., None]
    colour = np.where(
        (weights >= 0)[..., None],
        np.asarray(SUPPORT, dtype=np.float32),
        np.asarray(OPPOSE, dtype=np.float32),
    )
    out = (1 - strength) * 255.0 + strength * colour
    return np.round(out).astype(np.uint8)


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

"""The weight heatmap: the image in light grey under each superpixel's weight colour, with a
colour scale below it from the smallest to the largest weight (numpy only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from limecli.render.bitmap_font import draw_text, text_size
from limecli.render.palette import DARK, OPPOSE, SUPPORT
from limecli.render.superpixels import weight_map

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation

#: Share of the weight colour over the grey image at the largest |weight|: the image stays
#: faintly visible under the strongest superpixel.
HEAT = 0.85
#: The grey image keeps this share of its contrast, lifted towards white (0.45: 140-255).
GREY_CONTRAST = 0.45


def greyed(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32: ``pixels`` (0-255 RGB) in grey (Rec. 601 luma), lightened."""
    rgb = np.clip(np.asarray(pixels, dtype=np.float32), 0, 255)
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    grey = 255.0 - (255.0 - luma) * GREY_CONTRAST
    return np.repeat(grey[..., None], 3, axis=2)


def weight_colours(weights: np.ndarray, top: float, base: np.ndarray) -> np.ndarray:
    """``base`` (..., 3) with blue (positive) or orange (negative) over it, the colour's share
    :data:`HEAT` x |weight| / ``top``."""
    share = (HEAT * np.abs(weights) / top if top > 0 else np.zeros_like(weights))[..., None]
    colour = np.where(
        (weights >= 0)[..., None],
        np.asarray(SUPPORT, dtype=np.float32),
        np.asarray(OPPOSE, dtype=np.float32),
    )
    return (1 - share) * base + share * colour


def heatmap_image(
    segments: np.ndarray,
    label: LabelExplanation,
    pixels: np.ndarray | None = None,
    *,
    scale: bool = True,
) -> np.ndarray:
    """(H + scale height, W, 3) uint8: each superpixel coloured by its weight over the greyed
    ``pixels`` (over white without them), blue for support and orange for opposition, white
    or grey at 0; with ``scale``, the colour scale below (:func:`colour_scale`)."""
    weights = weight_map(segments, label)
    top = float(np.abs(weights).max()) if weights.size else 0.0
    if pixels is None:
        base = np.full((*segments.shape, 3), 255.0, dtype=np.float32)
    else:
        base = greyed(pixels)
    body = np.round(weight_colours(weights, top, base)).astype(np.uint8)
    if not scale:
        return body
    low = min(float(weights.min()), 0.0) if weights.size else 0.0
    high = max(float(weights.max()), 0.0) if weights.size else 0.0
    return np.concatenate([body, colour_scale(body.shape[1], low, high, top)], axis=0)


def scale_factor(width: int) -> int:
    """Font and bar pixels per unit in a colour scale ``width`` pixels wide."""
    return max(1, width // 320)


def colour_scale(width: int, low: float, high: float, top: float) -> np.ndarray:
    """(h, width, 3) uint8: a white strip holding a framed bar coloured from weight ``low``
    (left) to ``high`` (right) as the heatmap colours them, ``low`` and ``high`` written under
    its ends and ``0`` under the zero mark when it falls between them."""
    unit = scale_factor(width)
    margin, bar_height, gap, text_height = 2 * unit, 5 * unit, 2 * unit, 7 * unit
    height = margin + bar_height + gap + text_height + margin
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    # The bar keeps its margins unless the image is too narrow for them.
    x0 = min(margin, max((width - 2) // 2, 0))
    x1 = max(width - x0, x0 + 1)
    columns = np.arange(x0, x1, dtype=np.float64)
    span = high - low
    values = low + span * (columns - x0) / max(x1 - 1 - x0, 1) if span > 0 else columns * 0.0
    white = np.full((values.size, 3), 255.0, dtype=np.float32)
    bar = np.round(weight_colours(values.astype(np.float32), top, white)).astype(np.uint8)
    top_row = margin
    strip[top_row : top_row + bar_height, x0:x1] = bar[None, :, :]
    # A dark frame: the zero end of the bar is white on white otherwise.
    strip[top_row, x0:x1] = strip[top_row + bar_height - 1, x0:x1] = DARK
    strip[top_row : top_row + bar_height, x0] = DARK
    strip[top_row : top_row + bar_height, x1 - 1] = DARK
    text_row = top_row + bar_height + gap
    low_text, high_text = weight_text(low), weight_text(high)
    high_width = text_size(high_text, unit)[0]
    draw_text(strip, low_text, x0, text_row, DARK, unit)
    draw_text(strip, high_text, x1 - high_width, text_row, DARK, unit)
    if low < 0 < high:
        zero_x = x0 + round((x1 - 1 - x0) * (-low) / span)
        strip[top_row : top_row + bar_height, zero_x] = DARK
        zero_width = text_size("0", unit)[0]
        left = zero_x - zero_width // 2
        clear = text_size(low_text, unit)[0] + x0 + unit
        if left >= clear and left + zero_width + unit <= x1 - high_width:
            draw_text(strip, "0", left, text_row, DARK, unit)
    return strip


def weight_text(value: float) -> str:
    """A scale end as text: ``+0.47``, ``-0.53``, ``0``; tiny or huge ones as ``+1.2e-05``."""
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 1000:
        return f"{value:+.2f}"
    return f"{value:+.1e}"

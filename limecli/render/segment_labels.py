"""The numbered-segments picture: every superpixel outlined and its id (the N of "segment N"
in the tables) written in a small box well inside it (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from limecli.render.bitmap_font import draw_text, text_size
from limecli.render.palette import DARK, LIGHT, OPPOSE, SUPPORT, readable_on
from limecli.render.superpixels import (
    label_points,
    outline_strokes,
    segment_count,
    segment_weights,
)

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation


@dataclass(frozen=True)
class NumberBox:
    """Where a segment's id is written: the box's top-left corner, size and text scale."""

    segment: int
    x: int
    y: int
    width: int
    height: int
    scale: int

    @property
    def text(self) -> str:
        return str(self.segment)


def text_scale(shape: tuple[int, ...]) -> int:
    """Pixels per font pixel for segment ids: 1 up to 599 px on the short side, then more."""
    return max(1, min(shape[0], shape[1]) // 300)


def number_boxes(segments: np.ndarray) -> list[NumberBox]:
    """One box per segment id present, in id order: centred on the point farthest inside the
    segment (:func:`~limecli.render.superpixels.label_points`), moved in to fit the image."""
    height, width = segments.shape
    scale = text_scale(segments.shape)
    ids = np.unique(segments)
    points = label_points(segments, int(ids.max()) + 1 if ids.size else 0)
    boxes = []
    for segment in ids.tolist():
        text_width, text_height = text_size(str(segment), scale)
        # A one-pixel frame, then a padding of one font pixel around the text.
        box_width, box_height = text_width + 2 * scale + 2, text_height + 2 * scale + 2
        row, col = points[segment]
        x = int(min(max(col - box_width // 2, 0), max(width - box_width, 0)))
        y = int(min(max(row - box_height // 2, 0), max(height - box_height, 0)))
        boxes.append(NumberBox(segment, x, y, box_width, box_height, scale))
    return boxes


def segments_image(
    pixels: np.ndarray, segments: np.ndarray, label: LabelExplanation | None = None
) -> np.ndarray:
    """(H, W, 3) uint8: ``pixels`` with every superpixel outlined (dark and light strokes) and
    its id in a box: filled blue where ``label`` has a supporting weight for it, orange for an
    opposing one, white for the rest."""
    out = np.round(np.clip(np.asarray(pixels, dtype=np.float32), 0, 255)).astype(np.uint8)
    count = segment_count(segments, label)
    present = np.zeros(count, dtype=bool)
    present[np.unique(segments)] = True
    outer, inner = outline_strokes(segments, present)
    out[outer] = DARK
    out[inner] = LIGHT
    weights = segment_weights(label, count) if label is not None else np.zeros(count)
    for box in number_boxes(segments):
        weight = weights[box.segment]
        fill = SUPPORT if weight > 0 else OPPOSE if weight < 0 else LIGHT
        y1, x1 = box.y + box.height, box.x + box.width
        out[box.y : y1, box.x : x1] = DARK
        out[box.y + 1 : y1 - 1, box.x + 1 : x1 - 1] = fill
        origin = 1 + box.scale
        draw_text(out, box.text, box.x + origin, box.y + origin, readable_on(fill), box.scale)
    return out

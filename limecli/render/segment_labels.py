"""The numbered-segments picture: every superpixel outlined and its id (the N of "segment N"
in the tables) written in a small box well inside it (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from limecli.render.bitmap_font import draw_text, text_size
from limecli.render.palette import DARK, LIGHT, OPPOSE, SUPPORT, readable_on
from limecli.render.superpixels import (
    edges,
    outline_strokes,
    segment_count,
    segment_weights,
)

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation


@dataclass(frozen=True)
class NumberBox:
    """Where a segment's id is written: the box's top-left corner and size, the text scale,
    and the point of the segment it is centred on (``row``, ``col``)."""

    segment: int
    x: int
    y: int
    width: int
    height: int
    scale: int
    row: int
    col: int

    @property
    def text(self) -> str:
        return str(self.segment)


def text_scale(shape: tuple[int, ...]) -> int:
    """Pixels per font pixel for segment ids: 1 up to 599 px on the short side, then more."""
    return max(1, min(shape[0], shape[1]) // 300)


#: Points of a segment tried, deepest first, for a box that overlaps no earlier one.
TRIES = 400


def number_boxes(segments: np.ndarray) -> list[NumberBox]:
    """One box per segment id present, in id order, fitted inside the image: centred on the
    point deepest inside the segment (farthest from its edge) where it overlaps no earlier
    box; on the deepest point when there is no such place among the :data:`TRIES` deepest."""
    from scipy.ndimage import distance_transform_edt

    height, width = segments.shape
    scale = text_scale(segments.shape)
    ids = segments.ravel()
    depth = distance_transform_edt(~edges(segments)).ravel()
    # Pixels by id, then deepest first, then reading order.
    order = np.lexsort((np.arange(ids.size), -depth, ids))
    present, starts = np.unique(ids[order], return_index=True)
    ends = np.append(starts[1:], ids.size)
    placed = np.zeros((0, 4), dtype=np.int64)  # x0, y0, x1, y1 of the boxes so far
    boxes = []
    for segment, start, end in zip(present.tolist(), starts, ends, strict=True):
        text_width, text_height = text_size(str(segment), scale)
        # A one-pixel frame, then a padding of one font pixel around the text.
        box_width, box_height = text_width + 2 * scale + 2, text_height + 2 * scale + 2
        candidates = order[start : min(end, start + TRIES)]
        rows, cols = np.divmod(candidates, width)
        xs = np.clip(cols - box_width // 2, 0, max(width - box_width, 0))
        ys = np.clip(rows - box_height // 2, 0, max(height - box_height, 0))
        free = np.ones(candidates.size, dtype=bool)
        for x0, y0, x1, y1 in placed:
            free &= (xs >= x1) | (xs + box_width <= x0) | (ys >= y1) | (ys + box_height <= y0)
        pick = int(np.argmax(free)) if free.any() else 0
        x, y = int(xs[pick]), int(ys[pick])
        placed = np.vstack([placed, [x, y, x + box_width, y + box_height]])
        boxes.append(
            NumberBox(segment, x, y, box_width, box_height, scale, int(rows[pick]), int(cols[pick]))
        )
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

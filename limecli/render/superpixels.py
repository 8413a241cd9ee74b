"""What the pictures share about superpixels: per-segment weights, which segments a picture
shows, their edges and their outline strokes (numpy only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from limecli.explanation import LabelExplanation

#: An overlay outlines a superpixel whose |weight| is at least this share of the label's
#: largest |weight| (and that is not marked as possibly zero): faint ones are not drawn as
#: if they mattered as much as the strongest.
OUTLINE_SHARE = 0.2


def segment_count(segments: np.ndarray, label: LabelExplanation | None = None) -> int:
    """How many segment ids the map (and the label's features) use: max id + 1."""
    top = int(segments.max()) if segments.size else -1
    if label is not None:
        top = max([top, *(int(f.feature) for f in label.features)])
    return top + 1


def segment_weights(label: LabelExplanation, count: int) -> np.ndarray:
    """(count,) float64: each segment's weight for ``label`` (0 for segments not explained)."""
    weights = np.zeros(count, dtype=np.float64)
    for feat in label.features:
        weights[int(feat.feature)] = feat.weight
    return weights


def weight_map(segments: np.ndarray, label: LabelExplanation) -> np.ndarray:
    """(H, W) float32: each pixel's superpixel weight (0 for superpixels not in the explanation)."""
    per_segment = segment_weights(label, segment_count(segments, label)).astype(np.float32)
    return per_segment[segments]


def shown_segments(
    label: LabelExplanation, count: int, *, positive_only: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(supporting, opposing) bool (count,): the superpixels an overlay outlines.

    A superpixel is shown when its weight has a shown sign (opposing ones only without
    ``positive_only``), its |weight| is at least :data:`OUTLINE_SHARE` of the label's
    largest |weight|, and the explanation does not mark it as indistinguishable from 0.
    """
    support = np.zeros(count, dtype=bool)
    oppose = np.zeros(count, dtype=bool)
    top = max((abs(f.weight) for f in label.features), default=0.0)
    for feat in label.features:
        if feat.weight == 0 or abs(feat.weight) < OUTLINE_SHARE * top:
            continue
        if feat.extra.get("distinguishable_from_zero") is False:
            continue
        if feat.weight > 0:
            support[int(feat.feature)] = True
        elif not positive_only:
            oppose[int(feat.feature)] = True
    return support, oppose


def edges(segments: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels next to another superpixel (a 4-neighbour) or on the image border."""
    edge = np.zeros(segments.shape, dtype=bool)
    diff_y = segments[1:, :] != segments[:-1, :]
    diff_x = segments[:, 1:] != segments[:, :-1]
    edge[1:, :] |= diff_y
    edge[:-1, :] |= diff_y
    edge[:, 1:] |= diff_x
    edge[:, :-1] |= diff_x
    # The image border closes the outline of superpixels that touch it.
    edge[0, :] = edge[-1, :] = True
    edge[:, 0] = edge[:, -1] = True
    return edge


def edge_depth(segments: np.ndarray, limit: int) -> np.ndarray:
    """(H, W) int32: 1 on a superpixel's edge, 2 one pixel further in, ... ``limit + 1``
    from ``limit`` pixels in (4-neighbour steps, within the pixel's own superpixel)."""
    inside = ~edges(segments)
    depth = np.full(segments.shape, limit + 1, dtype=np.int32)
    depth[~inside] = 1
    for level in range(2, limit + 1):
        eroded = inside.copy()
        eroded[1:, :] &= inside[:-1, :]
        eroded[:-1, :] &= inside[1:, :]
        eroded[:, 1:] &= inside[:, :-1]
        eroded[:, :-1] &= inside[:, 1:]
        depth[inside & ~eroded] = level
        inside = eroded
    return depth


def stroke_width(shape: tuple[int, ...]) -> int:
    """Pixels per outline stroke: 1 up to 383 px on the short side, then one more per 256."""
    return max(1, round(min(shape[0], shape[1]) / 256))


def outline_strokes(segments: np.ndarray, chosen: np.ndarray, strokes: int = 2) -> list[np.ndarray]:
    """``strokes`` bool (H, W) masks inside each chosen superpixel's edge, from the edge inwards,
    each :func:`stroke_width` wide: the first on the edge, the next just inside it, ..."""
    width = stroke_width(segments.shape)
    depth = edge_depth(segments, strokes * width)
    inside = chosen[segments]
    return [inside & (depth > i * width) & (depth <= (i + 1) * width) for i in range(strokes)]

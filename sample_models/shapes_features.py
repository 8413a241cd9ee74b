"""Features of the synthetic-shapes classifier: a histogram of edge orientations.

Circles have edges in every direction, rectangles only horizontal and
vertical ones, triangles three directions. The histogram is taken over the
whole image, so the classifier does not care where a shape is; its input is a
batch ``(n, H, W, 3)`` of RGB images in 0-1 of any size.
"""

from __future__ import annotations

import numpy as np

N_BINS = 12
#: Gradient magnitudes below this (in 0-1 gray levels) are background noise.
EDGE_THRESHOLD = 0.08


def features(batch: np.ndarray) -> np.ndarray:
    x = np.asarray(batch, dtype=np.float32)
    gray = x.mean(axis=3)
    height, width = gray.shape[1:]
    padded = np.pad(gray, ((0, 0), (1, 1), (1, 1)), mode="edge")
    smooth = sum(
        padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)
    ) / np.float32(9)
    gy = smooth[:, 2:, 1:-1] - smooth[:, :-2, 1:-1]
    gx = smooth[:, 1:-1, 2:] - smooth[:, 1:-1, :-2]
    strength = np.maximum(np.hypot(gx, gy) - EDGE_THRESHOLD, 0)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((angle / np.pi * N_BINS).astype(np.int64), N_BINS - 1)
    hist = np.stack([(strength * (bins == k)).sum(axis=(1, 2)) for k in range(N_BINS)], axis=1)
    total = hist.sum(axis=1, keepdims=True)
    share = hist / np.maximum(total, 1e-6)
    ranked = -np.sort(-share, axis=1)  # the same whatever the shape's rotation
    return np.hstack([share, ranked, np.log1p(total)])

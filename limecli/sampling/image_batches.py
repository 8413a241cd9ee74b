"""Perturbed images handed to the model a batch at a time, with one batch alive.

Peak memory is one batch of perturbed images (plus the model's own tensor when
it takes another layout or dtype), not two: a batch is let go before the next
is built, and while the model keeps no reference to it, the next batch is built
in the same buffer (which also skips the page faults of a fresh allocation,
about as costly as building the images).

The model's contract is unchanged: every call gets a C-contiguous array whose
contents stay as they were for as long as the model holds it. Whether it holds
it is proven, not assumed: after the call, the buffer's reference count is back
to what it was before (a kept batch, a kept view of it, a memoryview, a
``torch.from_numpy`` tensor or an ``OrtValue`` over it all hold a reference to
it). A model that keeps one (a predict script collecting its inputs, a callable
caching its last batch) keeps that array, and the next batch goes to a new one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from limecli.sampling.image import ImageSampler


def predict_batches(
    sampler: ImageSampler,
    masks: np.ndarray,
    batch_size: int,
    predict: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The stacked answers of ``predict`` over the perturbed images of ``masks`` (n, K),
    ``batch_size`` images (n, H, W, C) float32 per call."""
    n = masks.shape[0]
    answers: list[np.ndarray] = []
    buffer: np.ndarray | None = None
    held = 0
    for start in range(0, n, batch_size):
        chunk = masks[start : start + batch_size]
        if buffer is None:
            buffer = np.empty((min(batch_size, n - start), sampler.image.size), np.float32)
            held = sys.getrefcount(buffer)  # ours alone: the baseline, measured not assumed
        batch = sampler.images(chunk, out=buffer[: len(chunk)])
        answers.append(predict(batch))
        del batch
        if sys.getrefcount(buffer) > held:  # the model kept it (or a view): it is the model's
            buffer = None
    return np.vstack(answers)

"""Images: time outside the model vs the model's own time, limecli beside lime 0.2.0.1.

    pip install -e '.[bench]' && python bench/bench_image.py [--repeats 5]

Same 224x224 photograph (sample_data/images/coffee.jpg), same quickshift
superpixels (kernel_size 4, max_dist 200, ratio 0.2), 1000 samples, mean-colour
hiding, top 5 labels, the same cheap model (a linear softmax over 8x8-pooled
pixels, 10 classes) and the same batch size (100) on both sides, and both hand
the model a C-contiguous (n, 224, 224, 3) float32 batch. (Before limecli's
builder was rewritten its batches were, by accident, laid out sample-innermost,
on which this model runs about 10x faster: model times, and so ratios, from
older runs of this script are not comparable.) Prints medians and ratios;
shared machines are noisy, so read the ratios, not the seconds.

The reference builds each perturbed image in a Python loop over samples (and
copies the image per sample); limecli builds a batch with one fill and one
masked copy per few samples. Both spend the same time in quickshift, printed
separately. Three runs side by side:

* "defaults, top 5 labels": segmentation cold on both sides (limecli's
  in-memory segmentation cache is cleared before every repeat);
* "warm segmentation cache": limecli explaining the same image again (another
  label set, an audit, a re-render, --cache-dir on a second run), beside the
  same lime numbers (lime has no cache);
* a breakdown of limecli's time outside the model: segmentation alone,
  building the perturbed images alone, and the rest (distances, surrogate
  fits, stability, the explanation object).
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ClockedModel, measure, report

from limecli import ImageExplainer, wrap_model
from limecli.inputs.image import read_image
from limecli.sampling.image import ImageSampler, segment
from limecli.segment_cache import clear_memory_cache

ROOT = Path(__file__).resolve().parent.parent


def cheap_model(n_classes: int = 10, seed: int = 0):
    """A linear softmax over the image average-pooled to 28x28x3.

    Its time depends on the batch's memory layout: numpy's pooling takes tens of
    ms per 100 C-contiguous images, a few ms when the sample axis is innermost.
    """
    rng = np.random.default_rng(seed)
    weights = rng.normal(0, 1, (28 * 28 * 3, n_classes)).astype(np.float32)

    def predict(batch: np.ndarray) -> np.ndarray:
        x = np.asarray(batch, dtype=np.float32)
        n = x.shape[0]
        pooled = x.reshape(n, 28, 8, 28, 8, 3).mean(axis=(2, 4)).reshape(n, -1)
        logits = pooled @ weights
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    return predict


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)

    from lime.lime_image import LimeImageExplainer

    image = read_image(ROOT / "sample_data" / "images" / "coffee.jpg")
    pixels01 = image.pixels / np.float32(255)  # both sides hand the model 0-1 float32
    clocked = ClockedModel(cheap_model())

    seg_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        segments = segment(image.pixels)
        seg_times.append(time.perf_counter() - start)
    seg = statistics.median(seg_times)

    ours = ImageExplainer(
        wrap_model(clocked, mode="classification"),
        num_samples=args.num_samples,
        batch_size=args.batch_size,
    )
    theirs = LimeImageExplainer(random_state=0)
    print(
        f"image, 224x224, quickshift ({segments.max() + 1} superpixels, {seg:.3f}s of either "
        f"side's time), {args.num_samples} samples, batch {args.batch_size}, "
        f"cheap linear model, median of {args.repeats}"
    )

    def cold() -> object:
        clear_memory_cache()  # pay quickshift every time, as lime does
        return ours.explain(image, seed=0)

    o_total, o_out = measure(cold, clocked, args.repeats)
    first = cold().to_json()
    w_total, w_out = measure(lambda: ours.explain(image, seed=0), clocked, args.repeats)
    if ours.explain(image, seed=0).to_json() != first:
        raise SystemExit("the warm segmentation cache changed the explanation")
    build = _build_seconds(image.pixels, segments, args.num_samples, args.batch_size, args.repeats)
    # lime 0.2.0.1 draws a tqdm progress bar on stderr that cannot be turned off.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        l_total, l_out = measure(
            lambda: theirs.explain_instance(
                pixels01,
                clocked,
                top_labels=5,
                hide_color=None,
                num_samples=args.num_samples,
                batch_size=args.batch_size,
                random_seed=0,
            ),
            clocked,
            args.repeats,
        )
    o_model, w_model, l_model = o_total - o_out, w_total - w_out, l_total - l_out
    lime_row = (l_total, l_out, l_model)
    report("defaults, top 5 labels", (o_total, o_out, o_model), lime_row)
    report("warm segmentation cache", (w_total, w_out, w_model), lime_row)
    pad = f"{'':<34}"
    print(
        f"{pad} outside the model: limecli cold {o_out:.3f}s, warm {w_out:.3f}s, "
        f"lime {l_out:.3f}s; model {o_model:.3f}s / {w_model:.3f}s / {l_model:.3f}s"
    )
    o_rest, l_rest = o_out - seg, l_out - seg
    print(
        f"{pad} outside the model and quickshift: limecli cold {o_rest:.3f}s "
        f"({o_rest / o_model:.2f}x the model), warm {w_out:.3f}s ({w_out / w_model:.2f}x), "
        f"lime {l_rest:.3f}s ({l_rest / l_model:.2f}x)"
    )
    print(
        f"{pad} limecli outside the model, warm: perturbed images {build:.3f}s, "
        f"rest (cache look-up, distances, surrogate fits, stability, result) "
        f"{max(w_out - build, 0.0):.3f}s; segmentation alone {seg:.3f}s"
    )


def _build_seconds(
    pixels: np.ndarray, segments: np.ndarray, num_samples: int, batch_size: int, repeats: int
) -> float:
    """Median seconds limecli spends building the perturbed images, on their own."""
    sampler = ImageSampler(pixels, segments)
    masks = sampler.draw(num_samples, np.random.default_rng(0))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _batch in sampler.batches(masks, batch_size):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()

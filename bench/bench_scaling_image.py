"""Image memory and build time at 1,024 px: peak RSS per number of samples, and the
perturbed-image build beside a plain copy of the same bytes.

    pip install -e '.[bench]'   # the bench extra; this script itself needs only limecli
    python bench/bench_scaling_image.py [--px 1024] [--samples 100,200,500]
        [--batch-size 100] [--repeats 3] [--build-repeats 7] [--before PATH]

The image is skimage's astronaut (512x512, shipped with scikit-image: nothing
downloaded) resized to PX x PX; its superpixels are SLIC's (n_segments 50),
computed in each child before anything is measured. The model is cheap and keeps
nothing (a softmax of two numbers read from a corner of each image), so memory
and time are limecli's.

* Peak memory: one child process per run (``explain_image`` with NUM samples,
  batches of BATCH_SIZE, seed 0), peak RSS from ``os.wait4``'s ``ru_maxrss``
  (this process does not count), beside a child that stops just before
  explaining (imports, warmed up by explaining a 16x16 image, then the image
  and its superpixels: the baseline). "batches" is (peak -
  baseline) / the bytes of one batch of float32 images.
* Build time: in one child, one batch's perturbed images built as each side's
  explainer builds them (each side's ``limecli/sampling/image.py`` loaded from
  its folder), beside ``np.copyto`` of the same bytes into an existing array and
  ``np.array`` (a copy into a new one: the page faults of fresh memory included),
  one warm-up then BUILD_REPEATS interleaved runs, medians. The explainer builds into
  a reused array when it can (limecli.sampling.image_batches), else a new one.

``--before PATH`` runs the same children with ``PYTHONPATH=PATH`` too (e.g. a git
worktree of an older commit) and prints both side by side. Shared machines are
noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def setup(px: int) -> tuple[Any, Any]:
    """The PX x PX image (uint8) and its SLIC superpixels."""
    import numpy as np
    from skimage import data, transform

    from limecli.sampling.image import segment

    image = transform.resize(data.astronaut(), (px, px), order=1, anti_aliasing=False)
    pixels = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return pixels, segment(pixels, "slic", n_segments=50)


def model(batch: Any) -> Any:
    import numpy as np

    p = batch[:, :8, :8, 0].mean(axis=(1, 2), dtype=np.float64)
    return np.column_stack([p, 1.0 - p])


def child_memory(px: int, samples: int, batch_size: int) -> dict[str, Any]:
    import numpy as np

    from limecli import explain_image

    tiny = np.random.default_rng(0).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    explain_image(model, tiny, num_samples=10, seed=0, segmenter="slic", mode="classification")
    pixels, segments = setup(px)  # the baseline: every module imported, image and superpixels
    if samples:
        explain_image(
            model, pixels, segments=segments, num_samples=samples, seed=0, labels=[1],
            batch_size=batch_size, mode="classification",
        )  # fmt: skip
    return {}


def load_sampling(root: str) -> Any:
    """``limecli/sampling/image.py`` of the code at ``root``, as a module of its own."""
    import importlib.util

    path = Path(root) / "limecli" / "sampling" / "image.py"
    spec = importlib.util.spec_from_file_location(f"sampling_{abs(hash(root))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child_build(px: int, batch_size: int, repeats: int, roots: dict[str, str]) -> dict[str, Any]:
    """Median seconds of each way of filling one batch, every side's in this one process."""
    import inspect

    import numpy as np

    pixels, segments = setup(px)
    samplers = {
        side: load_sampling(root).ImageSampler(pixels, segments) for side, root in roots.items()
    }
    any_sampler = next(iter(samplers.values()))
    masks = any_sampler.draw(batch_size, np.random.default_rng(0))
    source = np.broadcast_to(any_sampler.image, (batch_size, any_sampler.image.size))
    buffer = np.empty(source.shape, dtype=np.float32)
    cases: dict[str, Any] = {
        "copy into an array": lambda: np.copyto(buffer, source),
        "copy to a new array": lambda: np.array(source),
    }
    as_built = {}
    for side, sampler in samplers.items():
        cases[f"{side}: build to a new array"] = lambda s=sampler: s.images(masks)
        as_built[side] = f"{side}: build to a new array"
        if "out" in inspect.signature(sampler.images).parameters:
            name = f"{side}: build into an array"
            cases[name] = lambda s=sampler: s.images(masks, out=buffer)
            as_built[side] = name  # the explainer reuses one buffer when it can
    times: dict[str, list[float]] = {name: [] for name in cases}
    for run in cases.values():  # warm-up: the buffer's pages, the first call's imports
        run()
    for _ in range(repeats):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    for side, name in as_built.items():
        medians[f"{side}: as the explainer builds"] = medians[name]
    return medians


def run_child(args: list[str], pythonpath: str) -> tuple[int, float, str]:
    """(peak RSS in bytes, seconds, stdout) of this script run as a child."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    command = [sys.executable, __file__, *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: KB on Linux, bytes on macOS
    return usage.ru_maxrss * scale, seconds, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--px", type=int, default=1024)
    parser.add_argument("--samples", default="100,200,500")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", help="PYTHONPATH of the code to compare with")
    parser.add_argument("--child", choices=["memory", "build"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--roots", default="", help=argparse.SUPPRESS)
    parser.add_argument("--build-repeats", type=int, default=7)
    args = parser.parse_args()
    if args.child == "memory":
        child_memory(args.px, args.n, args.batch_size)
        return
    if args.child == "build":
        roots = dict(item.split("=", 1) for item in args.roots.split(","))
        print(json.dumps(child_build(args.px, args.batch_size, args.repeats, roots)))
        return

    sides = {"after": str(REPO)}
    if args.before:
        sides = {"before": os.path.abspath(args.before), **sides}
    counts = [0, *(int(s) for s in args.samples.split(","))]
    batch_mb = args.batch_size * args.px * args.px * 3 * 4 / 2**20
    print(
        f"{args.px}x{args.px} astronaut, SLIC 50, batch {args.batch_size} "
        f"(one batch of float32 images = {batch_mb:.0f} MB), {args.repeats} repeats, medians"
    )
    peaks: dict[tuple[str, int], list[float]] = {}
    walls: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):  # interleaved: sides and sizes alternate
        for n in counts:
            for side, path in sides.items():
                common = ["--px", str(args.px), "--batch-size", str(args.batch_size)]
                rss, seconds, _ = run_child(["--child", "memory", "--n", str(n), *common], path)
                peaks.setdefault((side, n), []).append(rss / 2**20)
                walls.setdefault((side, n), []).append(seconds)
    print("\npeak RSS (MB), and (peak - baseline) / one batch")
    print(f"{'samples':>8}" + "".join(f"{side:>26}" for side in sides))
    for n in counts:
        cells = []
        for side in sides:
            peak = statistics.median(peaks[(side, n)])
            base = statistics.median(peaks[(side, 0)])
            wall = statistics.median(walls[(side, n)])
            cells.append(f"{peak:8.0f} MB {(peak - base) / batch_mb:5.2f} b {wall:5.1f} s")
        print(f"{n or 'baseline':>8}" + "".join(f"{c:>26}" for c in cells))

    print(f"\nbuilding one batch ({args.batch_size} images) in one process, interleaved, ms")
    common = ["--px", str(args.px), "--batch-size", str(args.batch_size)]
    roots_arg = ",".join(f"{side}={path}" for side, path in sides.items())
    build_args = ["--child", "build", "--repeats", str(args.build_repeats), "--roots", roots_arg]
    _, _, out = run_child([*build_args, *common], str(REPO))
    builds = json.loads(out)
    copy = builds["copy into an array"]
    for name, seconds in builds.items():
        print(f"{name:>34} {seconds * 1e3:7.0f} ms {seconds / copy:5.2f}x a copy into an array")


if __name__ == "__main__":
    main()

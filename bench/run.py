"""Every benchmark in one run, summarised in one table.

    pip install -e '.[bench]' && python bench/run.py [--repeats 5]

Speed: limecli beside lime 0.2.0.1 on the same model, input and sample count
(bench_tabular, bench_text, bench_image), with the model's own time measured
by a clocked wrapper on both sides; "overhead" is time outside the model
divided by the model's time. Quality: agreement with lime and stability
across seeds (bench/quality.py). Start-up: `limecli --help`. Scaling (bench/scaling.py):
wide tabular data and many distinct words beside lime, batches at --jobs 1 and 2 and on
Dask beside --jobs 1, with peak memory (--no-scaling leaves them out: they take minutes).
Medians of --repeats runs; on a shared machine, read the ratios.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import contextlib
import io
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Only the light scaling module here: the scaling part runs first, while this process has
# imported nothing heavy (see main).
import scaling


def startup_seconds(args: list[str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "limecli", *args], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quality-rows", type=int, default=20)
    parser.add_argument("--no-scaling", action="store_true", help="leave out bench/scaling.py")
    parser.add_argument("--scaling-repeats", type=int, default=3)
    parser.add_argument("--batch-rows", default="100,1000,10000")
    args = parser.parse_args()
    # Scaling first, while this process is small: a child's ``ru_maxrss`` starts at its
    # parent's peak RSS, and a page this process maps too (numpy's, pandas's libraries)
    # would be shared with it, making the batch's process tree look smaller by PSS.
    found = None
    if not args.no_scaling:
        found = scaling.measure(args.scaling_repeats, args.batch_rows, args.scaling_repeats)

    import _timing
    import bench_batch
    import bench_image
    import bench_tabular
    import bench_text
    import quality

    repeats = ["--repeats", str(args.repeats)]
    for kind, module in (("tabular", bench_tabular), ("text", bench_text), ("image", bench_image)):
        _timing.KIND = kind
        with contextlib.redirect_stdout(io.StringIO()):
            module.main(repeats)
    with contextlib.redirect_stdout(io.StringIO()):
        q = quality.main(["--rows", str(args.quality_rows)])
    rates = bench_batch.tabular_rates(rows=100, repeats=args.repeats)

    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print(
        "| case | lime | limecli | model (limecli run) | overhead lime | overhead limecli | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in _timing.RESULTS:
        print(
            f"| {r['case']} | {r['lime_s']:.3f} s | {r['limecli_s']:.3f} s | {r['model_s']:.3f} s "
            f"| {r['lime_overhead']:.2f}x | {r['limecli_overhead']:.2f}x | {r['speedup']:.2f}x |"
        )
    print()
    print(
        f"| quality (breast cancer, {args.quality_rows} test rows, top 5) | value | time per explanation |"
    )
    print("|---|---|---|")
    print(
        f"| agreement with lime (Jaccard, 20000 samples each) | {q['agreement_top5_jaccard']:.3f} | |"
    )
    for name, label in (
        ("lime_5000", "stability across 5 seeds: lime, 5000 samples"),
        ("limecli_5000", "stability across 5 seeds: limecli, 5000 samples"),
        ("limecli_auto", "stability across 5 seeds: limecli, default (auto)"),
    ):
        print(f"| {label} | {q[name]:.3f} | {q[name + '_s'] * 1000:.0f} ms |")
    print()
    print(
        f"| batch: breast cancer, {rates['rows']} rows, one process | inputs/s | vs lime's loop |"
    )
    print("|---|---|---|")
    for name, label in (
        ("lime", "lime: explain_instance per row, 5000 samples"),
        ("shared_5000", "limecli: explain_many, shared pool, 5000 samples"),
        ("shared_auto", "limecli: explain_many, shared pools, default (auto)"),
    ):
        print(f"| {label} | {rates[name]:.1f} | {rates[name] / rates['lime']:.1f}x |")
    print()
    print(
        f"`limecli --help`: {startup_seconds(['--help']):.3f} s; "
        f"`limecli tabular --help`: {startup_seconds(['tabular', '--help']):.3f} s (median of 5)"
    )
    if found is not None:
        print()
        print(scaling.tables(found, args.scaling_repeats, args.scaling_repeats))


if __name__ == "__main__":
    main()

"""The scaling rows of bench/run.py: wide tabular data, many distinct words, batches.

    pip install -e '.[bench]'
    python bench/scaling.py [--repeats 3] [--batch-rows 100,1000,10000] [--batch-repeats 3]

Each row sits beside its reference, measured in the same run, interleaved, medians:

* features 10/100/1,000 at 5,000 samples: limecli beside lime 0.2.0.1, CPU seconds
  and peak traced memory growth (bench_scaling_features.py);
* distinct words 100/500/1,700 in a 5,000-word document: limecli beside lime, CPU
  seconds and peak RSS growth (bench_scaling_text.py);
* batch rows 100/1,000/10,000 at --jobs 1 and 2, and Dask with 2 local workers:
  rows/s and the process tree's peak RSS and PSS, beside --jobs 1
  (bench_scaling_batch.py).

Each script can also be run alone, with more settings (see its --help).
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import contextlib
import io
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scaling_batch
import bench_scaling_features
import bench_scaling_text


def measure(repeats: int, batch_rows: str, batch_repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Every scaling measurement (the scripts' own printout is not shown)."""
    with contextlib.redirect_stdout(io.StringIO()):
        features = bench_scaling_features.main(
            ["--features", "10,100,1000", "--samples", "5000", "--repeats", str(repeats)]
        )
        words = bench_scaling_text.main(["--distinct", "100,500,1700", "--repeats", str(repeats)])
        batch = bench_scaling_batch.main(
            ["--rows", batch_rows, "--dask-rows", "1000", "--repeats", str(batch_repeats)]
        )
    return {"features": features, "words": words, "batch": batch}


def tables(found: dict[str, list[dict[str, Any]]], repeats: int, batch_repeats: int) -> str:
    """The three Markdown tables of ``found`` (what :func:`measure` returned)."""
    lines = [
        f"| wide tabular data, 5000 samples (median of {repeats}) | limecli | lime "
        "| time vs lime | peak memory growth: limecli | lime | vs lime |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found["features"]:
        lines.append(
            f"| {_features(r)} features | {r['limecli_cpu_s']:.2f} s | {r['lime_cpu_s']:.2f} s "
            f"| {r['limecli_cpu_s'] / r['lime_cpu_s']:.2f}x | {r['limecli_peak_mb']:.0f} MB "
            f"| {r['lime_peak_mb']:.0f} MB | {_ratio(r['limecli_peak_mb'], r['lime_peak_mb'])} |"
        )
    lines += [
        "",
        f"| text, 5000-word document, 5000 samples (median of {repeats}) | limecli | lime "
        "| time vs lime | peak memory growth: limecli | lime | vs lime |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found["words"]:
        lines.append(
            f"| {r['distinct']} distinct words | {r['limecli_s']:.2f} s | {r['lime_s']:.2f} s "
            f"| {r['limecli_s'] / r['lime_s']:.2f}x | {r['limecli_mb']:.0f} MB "
            f"| {r['lime_mb']:.0f} MB | {_ratio(r['limecli_mb'], r['lime_mb'])} |"
        )
    lines += [
        "",
        f"| batch, breast-cancer forest, shared pool (median of {batch_repeats}) | rows/s "
        "| vs --jobs 1 | peak RSS | vs --jobs 1 | peak PSS | vs --jobs 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    base = {r["rows"]: r for r in found["batch"] if r["backend"] == "local" and r["jobs"] == 1}
    for r in found["batch"]:
        one = base[r["rows"]]
        how = {"dask": "Dask, 2 local workers", "dask-warm": "Dask, 2 local workers, warm"}.get(
            r["backend"], f"--jobs {r['jobs']}"
        )
        lines.append(
            f"| {r['rows']} rows, {how} | {r['rate']:.1f} | {r['rate'] / one['rate']:.2f}x "
            f"| {r['rss_mb']:.0f} MB | {r['rss_mb'] / one['rss_mb']:.2f}x "
            f"| {r['pss_mb']:.0f} MB | {r['pss_mb'] / one['pss_mb']:.2f}x |"
        )
    return "\n".join(lines)


def _features(row: dict[str, Any]) -> str:
    found = re.search(r"features=(\d+)", str(row.get("case", "")))
    return str(row.get("features") or (found.group(1) if found else "?"))


def _ratio(ours: float, theirs: float) -> str:
    # A growth of a few MB on either side is within the noise of the allocator.
    return f"{ours / theirs:.2f}x" if theirs >= 1 else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-rows", default="100,1000,10000")
    parser.add_argument("--batch-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    found = measure(args.repeats, args.batch_rows, args.batch_repeats)
    print(tables(found, args.repeats, args.batch_repeats))


if __name__ == "__main__":
    main()

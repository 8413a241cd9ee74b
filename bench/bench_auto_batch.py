"""The default ``auto`` against a fixed 5000 in a batch, over several shared-pool seeds.

    pip install -e '.[bench]'   # the bench extra; this script itself needs only limecli
    python bench/bench_auto_batch.py [--rows 1000] [--seeds 0,1,2,3,4] [--repeats 3] [--jobs 1]

A batch shares one pool among its rows, so how many rows ``auto`` doubles
depends on that one draw as much as on the rows: on the breast-cancer test
rows, pool seed 0 doubles 44 of 114 and seeds 1-9 16-27 (median 22). One seed
is one draw of the batch's cost; this script measures several. For each pool
seed, ROWS rows (the 114 test rows cycled) of the shipped breast-cancer forest
run through the batch runner as ``bench_scaling_batch.py`` runs them (a fresh
process per run, records written as JSONL to memory) at ``--num-samples auto``
and at 5000, interleaved, REPEATS times each; per seed the medians of rows/s
and of the batch's CPU seconds (at --jobs 1 all in the measuring process; a
loaded machine inflates them less than wall time), the ratios auto / 5000 of
both (CPU: 5000's seconds over auto's), and how many rows doubled. The last
line: the medians over the seeds of the per-seed ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

from bench_scaling_batch import measured


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    counts: tuple[int | str, ...] = ("auto", 5000)
    runs: dict[tuple[int, int | str], list[dict[str, float]]] = {
        (seed, n): [] for seed in seeds for n in counts
    }
    for _ in range(args.repeats):  # interleaved: every seed and count once per repeat
        for seed in seeds:
            for n in counts:
                runs[seed, n].append(measured((args.rows, args.jobs, "local"), n, seed))
    print(
        f"auto vs 5000, breast-cancer RF(100), {args.rows} rows, --jobs {args.jobs}, "
        f"median of {args.repeats} per pool seed; load average {os.getloadavg()[0]:.2f}"
    )
    out = []
    for seed in seeds:
        auto, fixed = runs[seed, "auto"], runs[seed, 5000]
        med = {
            (n, k): statistics.median(r[k] for r in runs[seed, n])
            for n in counts
            for k in ("rate", "batch_cpu_s")
        }
        row = {
            "seed": seed,
            "doubled": int(auto[0]["doubled"]),
            "rate_auto": med["auto", "rate"],
            "rate_5000": med[5000, "rate"],
            "rate_ratio": med["auto", "rate"] / med[5000, "rate"],
            "cpu_ratio": med[5000, "batch_cpu_s"] / med["auto", "batch_cpu_s"],
        }
        out.append(row)
        assert all(r["doubled"] == 0 for r in fixed)
        print(
            f"pool seed {seed}: {row['doubled']:4d} of {args.rows} rows doubled  "
            f"rows/s auto {row['rate_auto']:6.1f}  5000 {row['rate_5000']:6.1f}  "
            f"auto/5000 {row['rate_ratio']:4.2f}x  "
            f"batch CPU s 5000/auto {row['cpu_ratio']:4.2f}x"
        )
    ratios = [r["rate_ratio"] for r in out]
    cpu = [r["cpu_ratio"] for r in out]
    rate_part = f"rows/s auto/5000 {statistics.median(ratios):4.2f}x ({_spread(ratios)})"
    cpu_part = f"batch CPU s 5000/auto {statistics.median(cpu):4.2f}x ({_spread(cpu)})"
    print(f"median over {len(seeds)} pool seeds: {rate_part}, {cpu_part}")
    return out


def _spread(values: list[float]) -> str:
    return f"range {min(values):4.2f}-{max(values):4.2f}"


if __name__ == "__main__":
    main()

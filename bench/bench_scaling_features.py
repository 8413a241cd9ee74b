"""Wide tabular data: CPU time and peak memory growth by feature count, limecli beside lime 0.2.0.1.

    pip install -e '.[bench]' && python bench/bench_scaling_features.py
        [--features 10,100,1000] [--samples 1000,5000] [--repeats 3]

For each width d: 2,000 training rows of d standard-normal columns and a
LogisticRegression on them (cheap to call, so the explainers' own work is
what is measured); both sides explain training row 0 with their defaults
(limecli's TabularExplainer, lime's LimeTabularExplainer: quartile
discretizer, 10 features, label 1) through the same array-in,
probabilities-out function, with the same sample count.

Every run is a fresh subprocess (``--worker``) that builds the data and the
explainer, explains once to warm up, then once timed (CPU seconds of the
process, ``time.process_time``) and once under ``tracemalloc`` (the peak of
what was allocated during that explanation: numpy's arrays included, what
the process held before not). Both sides are measured the same way. The runs
are interleaved (case by case, side by side, repeat after repeat) and the
medians reported, with the ratios limecli / lime (below 1: limecli is faster,
or grows less).
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from typing import Any

TRAIN_ROWS = 2000


def _case(d: int) -> tuple[Any, Any]:
    """The training table (d columns) and the fitted model's predict function."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(TRAIN_ROWS, d))
    strong = min(d, 20)
    y = (x[:, :strong].sum(axis=1) + rng.normal(size=TRAIN_ROWS) > 0).astype(int)
    model = LogisticRegression(max_iter=500).fit(x, y)
    return x, lambda batch: model.predict_proba(np.asarray(batch, dtype=float))


def worker(side: str, d: int, n: int) -> dict[str, float]:
    """One side, one case: CPU seconds of one explanation and its peak traced growth."""
    x, predict = _case(d)
    if side == "limecli":
        import pandas as pd

        from limecli import TabularExplainer, wrap_model

        train = pd.DataFrame(x, columns=[f"x{i}" for i in range(d)])
        ours = TabularExplainer(wrap_model(predict, mode="classification"), train)
        instance = train.iloc[0]

        def run() -> Any:
            return ours.explain(instance, seed=0, num_samples=n)
    else:
        from lime.lime_tabular import LimeTabularExplainer

        theirs = LimeTabularExplainer(x, random_state=0)

        def run() -> Any:
            return theirs.explain_instance(x[0], predict, num_samples=n)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()  # imports and first-call costs out of the way
        start = time.process_time()
        run()
        cpu = time.process_time() - start
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"cpu_s": cpu, "peak_mb": peak / 1e6}


def _spawn(side: str, d: int, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", side, "--features", str(d), "--samples", str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", default="10,100,1000")
    parser.add_argument("--samples", default="1000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=("limecli", "lime"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    widths = [int(v) for v in args.features.split(",")]
    counts = [int(v) for v in args.samples.split(",")]
    if args.worker:
        print(json.dumps(worker(args.worker, widths[0], counts[0])))
        return []
    cases = [(d, n) for n in counts for d in widths]
    runs: dict[tuple[str, int, int], list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for d, n in cases:
            for side in ("limecli", "lime"):
                runs.setdefault((side, d, n), []).append(_spawn(side, d, n))
    print(
        f"tabular, features scaling (LogisticRegression, defaults), CPU s and peak traced "
        f"growth (MB), median of {args.repeats} interleaved subprocess runs"
    )
    print(
        f"{'samples':>7} {'features':>8} | {'limecli s':>9} {'lime s':>8} {'ratio':>6} | "
        f"{'limecli MB':>10} {'lime MB':>8} {'ratio':>6}"
    )
    rows = []
    for d, n in cases:
        ours, theirs = runs[("limecli", d, n)], runs[("lime", d, n)]
        row: dict[str, Any] = {"case": f"tabular features={d} samples={n}"}
        for key in ("cpu_s", "peak_mb"):
            row[f"limecli_{key}"] = statistics.median(r[key] for r in ours)
            row[f"lime_{key}"] = statistics.median(r[key] for r in theirs)
        rows.append(row)
        print(
            f"{n:>7} {d:>8} | {row['limecli_cpu_s']:9.3f} {row['lime_cpu_s']:8.3f} "
            f"{row['limecli_cpu_s'] / row['lime_cpu_s']:5.2f}x | "
            f"{row['limecli_peak_mb']:10.1f} {row['lime_peak_mb']:8.1f} "
            f"{row['limecli_peak_mb'] / max(row['lime_peak_mb'], 1e-9):5.2f}x"
        )
    return rows


if __name__ == "__main__":
    main()

"""Tabular: where the time outside the model goes, stage by stage.

    pip install -e '.[bench]'   # the bench extra; this script itself needs only limecli
    python bench/bench_tabular_stages.py [--repeats 200] [--num-features 10]

The shipped breast-cancer forest (100 trees), test row 12, 5000 samples, as
``bench_tabular.py`` runs it (a clocked array-in function, in this process, as a
Python caller runs it). Each stage is timed by a wrapper around the explainer's
own methods, REPEATS explanations after five warm ones:

* draw: the perturbed values and their bins (5000 x 30 values), missing cells,
  the instance placed in row 0;
* interpretable: the 0/1 data the surrogate is fitted on;
* model call, outside the model: the call's fence (the model's prints go to
  stderr) and the checks of its answers, less the model's own time;
* fits: the surrogate, its 20 stability replicates, intervals, held-out
  score and the records (with the kernel weights and block moments, unless
  the thread beside the model computed them, see limecli.explainers.beside);
* the rest: the row's encoding, the request, the explanation's assembly.

Prints per stage the median milliseconds and that over the model's median time,
and the median total outside the model over the model's time (the figure of
``bench_tabular.py``; the stages' medians need not add up to it exactly). Then
the draw alone (the sampler's 5000 x 30 bins and values) by its compiled loop
and by numpy (limecli/sampling/bin_table.py), interleaved, REPEATS times each:
the medians and their ratio (the two give the same bits).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import breast_cancer_case

from limecli import TabularExplainer, wrap_model
from limecli.sampling import bin_table

STAGES = ("draw", "interpretable", "model call, outside the model", "fits", "the rest")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--num-features", type=int, default=10)
    args = parser.parse_args(argv)
    clocked, train, test, _ = breast_cancer_case()
    explainer = TabularExplainer(wrap_model(clocked, mode="classification"), train)
    instance = test.iloc[12]
    spent: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def clock(owner: Any, method: str, stage: str) -> None:
        original: Callable[..., Any] = getattr(owner, method)

        def timed(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                spent[stage] += time.perf_counter() - start

        setattr(owner, method, timed)  # on the instance: the class is left as it is

    sampler = explainer.sampler
    for method in ("draw", "draw_missing", "place"):
        clock(sampler, method, "draw")
    clock(sampler, "interpretable", "interpretable")
    clock(explainer.predictor, "predict", "model call, outside the model")
    clock(explainer, "_finish", "fits")

    def once() -> dict[str, float]:
        clocked.reset()
        for stage in spent:
            spent[stage] = 0.0
        start = time.perf_counter()
        explainer.explain(instance, seed=0, num_features=args.num_features, num_samples=5000)
        total = time.perf_counter() - start
        run = dict(spent)
        run["model call, outside the model"] -= clocked.seconds
        run["the rest"] = total - clocked.seconds - sum(run.values())
        run["outside"] = total - clocked.seconds
        run["model"] = clocked.seconds
        return run

    for _ in range(5):  # warm: imports, caches
        once()
    runs = [once() for _ in range(args.repeats)]
    model = statistics.median(r["model"] for r in runs)
    print(
        f"tabular, breast-cancer RF(100), 5000 samples, num_features={args.num_features}, "
        f"median of {args.repeats}; model {model * 1e3:.2f} ms"
    )
    for stage in (*STAGES, "outside"):
        value = statistics.median(r[stage] for r in runs)
        name = "outside the model, in all" if stage == "outside" else stage
        print(f"{name:31s} {value * 1e3:6.2f} ms  {value / model:5.3f}x the model's time")
    compare_draws(explainer, args.repeats)


def compare_draws(explainer: TabularExplainer, repeats: int) -> None:
    table = explainer.sampler.bin_table
    compiled = bin_table._compiled
    if table is None or compiled is None:
        print("draw alone: no compiled loop here (the install could not build it)")
        return
    times: dict[str, list[float]] = {"compiled": [], "numpy": []}
    try:
        for i in range(repeats):
            for path in ("compiled", "numpy") if i % 2 else ("numpy", "compiled"):
                bin_table._compiled = compiled if path == "compiled" else None
                rng = np.random.default_rng(0)
                start = time.perf_counter()
                _, values = table.draw(5000, rng)
                times[path].append(time.perf_counter() - start)
                table.recycle(values)  # as an explanation gives its array back
                del values
    finally:
        bin_table._compiled = compiled
    fast, slow = (statistics.median(times[p]) for p in ("compiled", "numpy"))
    print(
        f"draw alone, interleaved: compiled loop {fast * 1e3:.2f} ms, numpy {slow * 1e3:.2f} ms: "
        f"numpy / compiled {slow / fast:.2f}x"
    )


if __name__ == "__main__":
    main()

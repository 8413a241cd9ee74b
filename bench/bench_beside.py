"""Tabular: the work beside the model's call (limecli.explainers.beside) on and off.

    pip install -e '.[bench]'   # the bench extra; this script itself needs only limecli
    python bench/bench_beside.py [--repeats 150] [--num-features 10]

The shipped breast-cancer forest (100 trees), test row 12, 5000 samples, as
``bench_tabular.py`` runs it (a clocked array-in function), explained REPEATS
times with the samples' kernel weights and label-independent moments computed in
a thread while the model answers ("on") and after its call ("off"), the two
interleaved (the order alternating) in one process. Prints the medians of the
total time, of the model's own time and of the time outside it, and outside
over model. On one core there is no thread and
the two are the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import breast_cancer_case

from limecli import TabularExplainer, wrap_model
from limecli.explainers import beside


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=150)
    parser.add_argument("--num-features", type=int, default=10)
    args = parser.parse_args(argv)
    clocked, train, test, _ = breast_cancer_case()
    explainer = TabularExplainer(wrap_model(clocked, mode="classification"), train)
    instance = test.iloc[12]

    def once() -> tuple[float, float]:
        clocked.reset()
        start = time.perf_counter()
        explainer.explain(instance, seed=0, num_features=args.num_features, num_samples=5000)
        return time.perf_counter() - start, clocked.seconds

    for _ in range(5):  # warm: imports, caches
        once()
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for i in range(args.repeats):
        for on in (True, False) if i % 2 else (False, True):
            beside.ENABLED = on
            runs[on].append(once())
    beside.ENABLED = True
    print(
        f"tabular, breast-cancer RF(100), 5000 samples, num_features={args.num_features}, "
        f"{args.repeats} interleaved pairs, spare core: {beside.spare_core()}"
    )
    for on in (True, False):
        total = statistics.median(t for t, _ in runs[on])
        model = statistics.median(m for _, m in runs[on])
        outside = statistics.median(t - m for t, m in runs[on])
        print(
            f"beside {'on ' if on else 'off'}  total {total * 1e3:6.2f} ms  model "
            f"{model * 1e3:6.2f} ms  outside {outside * 1e3:5.2f} ms  "
            f"outside/model {outside / model:4.2f}x"
        )


if __name__ == "__main__":
    main()

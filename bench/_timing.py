"""Helpers for the side-by-side benchmarks: a model wrapper that clocks its own calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def breast_cancer_case() -> tuple[ClockedModel, Any, Any, list[Any]]:
    """The tabular reference case: the shipped breast-cancer forest (100 trees) as a clocked
    array-in, probabilities-out function, the training and test features, its classes."""
    from pathlib import Path

    import joblib
    import pandas as pd

    root = Path(__file__).resolve().parent.parent
    forest = joblib.load(root / "sample_models" / "breast_cancer_rf.joblib")
    train = pd.read_csv(root / "sample_data" / "breast_cancer_train.csv").drop(columns="diagnosis")
    test = pd.read_csv(root / "sample_data" / "breast_cancer_test.csv").drop(columns="diagnosis")
    columns = list(train.columns)
    clocked = ClockedModel(lambda batch: forest.predict_proba(pd.DataFrame(batch, columns=columns)))
    return clocked, train, test, list(forest.classes_)


class ClockedModel:
    """Wraps a predict function and adds up the seconds spent inside it."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.rows = 0

    def __call__(self, batch: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.fn(batch)
        finally:
            self.seconds += time.perf_counter() - start
            self.rows += len(batch)

    def reset(self) -> None:
        self.seconds = 0.0
        self.rows = 0


def measure(run: Callable[[], Any], model: ClockedModel, repeats: int) -> tuple[float, float]:
    """Median (total seconds, seconds outside the model) over ``repeats`` runs."""
    totals, outside = [], []
    for _ in range(repeats):
        model.reset()
        start = time.perf_counter()
        run()
        total = time.perf_counter() - start
        totals.append(total)
        outside.append(total - model.seconds)
    return statistics.median(totals), statistics.median(outside)


#: Every reported comparison, for bench/run.py's table; ``KIND`` labels the next ones.
RESULTS: list[dict[str, Any]] = []
KIND = ""


def report(name: str, ours: tuple[float, float, float], lime: tuple[float, float, float]) -> None:
    """Print one comparison row: (total, outside, model) seconds for each side."""
    o_total, o_out, o_model = ours
    l_total, l_out, l_model = lime
    RESULTS.append(
        {
            "case": f"{KIND} {name}".strip(),
            "lime_s": l_total,
            "limecli_s": o_total,
            "model_s": o_model,
            "limecli_overhead": o_out / o_model,
            "lime_overhead": l_out / l_model,
            "speedup": l_total / o_total,
        }
    )
    print(
        f"{name:<34} limecli total {o_total:7.3f}s outside/model {o_out / o_model:5.2f}x | "
        f"lime total {l_total:7.3f}s outside/model {l_out / l_model:5.2f}x | "
        f"speed-up end to end {l_total / o_total:5.2f}x"
    )

"""Agreement with lime and stability across seeds, on the breast-cancer sample.

    pip install -e '.[bench]' && python bench/quality.py [--rows 20] [--seeds 5]

Agreement: mean Jaccard similarity of the top-5 feature sets (limecli vs lime,
same rows, 20000 samples each). Stability: mean pairwise Jaccard of the top-5
sets across seeds, per row, averaged over rows, for lime at its default 5000
samples, limecli at 5000, and limecli at its default (--num-samples auto:
5000, doubled to 10000 unless the top features are settled).
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import itertools
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from limecli import TabularExplainer, wrap_model

ROOT = Path(__file__).resolve().parent.parent
TOP_K = 5


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def setup() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    forest = joblib.load(ROOT / "sample_models" / "breast_cancer_rf.joblib")
    train = pd.read_csv(ROOT / "sample_data" / "breast_cancer_train.csv").drop(columns="diagnosis")
    test = pd.read_csv(ROOT / "sample_data" / "breast_cancer_test.csv").drop(columns="diagnosis")
    columns = list(train.columns)

    def predict(batch: Any) -> np.ndarray:
        return forest.predict_proba(pd.DataFrame(np.asarray(batch, dtype=float), columns=columns))

    return predict, train, test


def ours_top(explainer: TabularExplainer, row: pd.Series, seed: int, n: int | str) -> set[str]:
    exp = explainer.explain(row, seed=seed, num_samples=n)
    return {f.feature for f in exp.label().features}


def lime_top(predict: Any, train: pd.DataFrame, row: pd.Series, seed: int, n: int) -> set[str]:
    from lime.lime_tabular import LimeTabularExplainer

    columns = list(train.columns)
    explainer = LimeTabularExplainer(
        train.to_numpy(), feature_names=columns, random_state=seed, discretize_continuous=True
    )
    label = int(np.argmax(predict(row.to_numpy()[None, :])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = explainer.explain_instance(
            row.to_numpy(), predict, labels=(label,), num_features=TOP_K, num_samples=n
        )
    return {columns[i] for i, _ in exp.as_map()[label]}


def measure(rows: int, seeds: int) -> dict[str, float]:
    predict, train, test = setup()
    explainer = TabularExplainer(
        wrap_model(predict, mode="classification"), train, num_features=TOP_K
    )
    out: dict[str, float] = {}
    agree = [
        jaccard(
            ours_top(explainer, test.iloc[r], 0, 20000),
            lime_top(predict, train, test.iloc[r], 0, 20000),
        )
        for r in range(rows)
    ]
    out["agreement_top5_jaccard"] = statistics.mean(agree)

    def stability(top_of: Any) -> tuple[float, float]:
        start = time.perf_counter()
        per_row = []
        for r in range(rows):
            tops = [top_of(test.iloc[r], s) for s in range(seeds)]
            per_row.append(
                statistics.mean(jaccard(a, b) for a, b in itertools.combinations(tops, 2))
            )
        return statistics.mean(per_row), (time.perf_counter() - start) / (rows * seeds)

    out["lime_5000"], out["lime_5000_s"] = stability(
        lambda row, s: lime_top(predict, train, row, s, 5000)
    )
    out["limecli_5000"], out["limecli_5000_s"] = stability(
        lambda row, s: ours_top(explainer, row, s, 5000)
    )
    out["limecli_auto"], out["limecli_auto_s"] = stability(
        lambda row, s: ours_top(explainer, row, s, "auto")
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.rows, args.seeds)
    print(
        f"agreement with lime, top-{TOP_K} Jaccard, {args.rows} rows at 20000 samples: "
        f"{result['agreement_top5_jaccard']:.3f}"
    )
    for name in ("lime_5000", "limecli_5000", "limecli_auto"):
        print(
            f"stability {name:<14} top-{TOP_K} Jaccard across {args.seeds} seeds: "
            f"{result[name]:.3f}   ({result[name + '_s'] * 1000:.0f} ms per explanation)"
        )
    return result


if __name__ == "__main__":
    main()

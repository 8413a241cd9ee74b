"""Defaults against defaults when the model is the expensive part: limecli beside lime 0.2.0.1.

    pip install -e '.[bench]'
    python bench/bench_expensive_model.py [--trees 500] [--rows 114] [--repeats 1]

A RandomForest of TREES trees (scikit-learn, ``random_state=0``) is trained
here on the shipped breast-cancer training rows, and each of ROWS test rows is
explained with each library's defaults: ``TabularExplainer(...).explain(row,
seed=i)`` (``num_samples="auto"``: 5000 samples, doubled to 10000 only when
that is expected to settle a rank) and ``LimeTabularExplainer(...,
random_state=i).explain_instance(row, predict_proba)`` (5000 samples), both
calling the same array-in, probabilities-out function. The two sides alternate
row by row (a noisy machine slows both alike); time is the process's CPU
seconds per explanation (``time.process_time``). Prints the mean and median of
each side, their ratio (below 1: limecli is faster), how many rows doubled and
what those cost beside lime's.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from limecli import TabularExplainer, wrap_model

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--rows", type=int, default=114)
    parser.add_argument("--repeats", type=int, default=1, help="passes over the rows")
    args = parser.parse_args(argv)

    from lime.lime_tabular import LimeTabularExplainer
    from sklearn.ensemble import RandomForestClassifier

    train = pd.read_csv(ROOT / "sample_data" / "breast_cancer_train.csv")
    test = pd.read_csv(ROOT / "sample_data" / "breast_cancer_test.csv")
    target = train.pop("diagnosis")
    test = test.drop(columns="diagnosis")
    forest = RandomForestClassifier(n_estimators=args.trees, random_state=0, n_jobs=1)
    forest.fit(train.to_numpy(), target)

    def predict(batch: np.ndarray) -> np.ndarray:
        return forest.predict_proba(np.asarray(batch, dtype=float))

    ours = TabularExplainer(wrap_model(predict, mode="classification"), train)
    rows = [test.iloc[i % len(test)] for i in range(args.rows)]
    limecli_s: list[float] = []
    lime_s: list[float] = []
    doubled: list[bool] = []
    for _ in range(args.repeats):
        for i, row in enumerate(rows):
            start = time.process_time()
            explanation = ours.explain(row, seed=i)
            limecli_s.append(time.process_time() - start)
            doubled.append(explanation.params["num_samples"] > 5000)
            theirs = LimeTabularExplainer(
                train.to_numpy(),
                feature_names=list(train.columns),
                class_names=[str(c) for c in forest.classes_],
                discretize_continuous=True,
                random_state=i,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.process_time()
                theirs.explain_instance(row.to_numpy(), predict)
                lime_s.append(time.process_time() - start)
    ours_mean, lime_mean = statistics.mean(limecli_s), statistics.mean(lime_s)
    twice = [t for t, d in zip(limecli_s, doubled, strict=True) if d]
    lime_twice = [t for t, d in zip(lime_s, doubled, strict=True) if d]
    print(
        f"defaults, breast-cancer RF({args.trees}), {args.rows} test rows x {args.repeats}, "
        "CPU s per explanation"
    )
    print(
        f"limecli (auto)  mean {ours_mean:.3f} s  median {statistics.median(limecli_s):.3f} s"
        f"  | lime  mean {lime_mean:.3f} s  median {statistics.median(lime_s):.3f} s"
        f"  | limecli/lime: mean {ours_mean / lime_mean:.2f}x"
        f"  median {statistics.median(limecli_s) / statistics.median(lime_s):.2f}x"
    )
    if twice:
        ours_twice, lime_twice_mean = statistics.mean(twice), statistics.mean(lime_twice)
        print(
            f"doubled to 10000: {len(twice)} of {len(doubled)} explanations, "
            f"mean {ours_twice:.3f} s against lime's {lime_twice_mean:.3f} s "
            f"on the same rows ({ours_twice / lime_twice_mean:.2f}x)"
        )
    else:
        print(f"doubled to 10000: 0 of {len(doubled)} explanations")
    return {"ratio": ours_mean / lime_mean, "doubled": len(twice) / len(doubled)}


if __name__ == "__main__":
    main()

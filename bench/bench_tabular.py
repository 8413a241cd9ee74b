"""Tabular: time outside the model vs the model's own time, limecli beside lime 0.2.0.1.

    pip install -e '.[bench]' && python bench/bench_tabular.py [--repeats 5]

Same model (the breast-cancer RandomForest, 100 trees), same instance (test
row 12), same sample count (5000). Prints medians and ratios; machines here
are shared and noisy, so read the ratios, not the seconds.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import breast_cancer_case, measure, report

from limecli import TabularExplainer, wrap_model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=5000)
    args = parser.parse_args(argv)

    from lime.lime_tabular import LimeTabularExplainer

    # Both sides get the same array-in, probabilities-out function, clocked.
    clocked, train, test, classes = breast_cancer_case()
    columns = list(train.columns)
    predict_array = clocked.fn
    ours = TabularExplainer(wrap_model(clocked, mode="classification"), train)
    theirs = LimeTabularExplainer(
        train.to_numpy(),
        feature_names=columns,
        class_names=classes,
        discretize_continuous=True,
        random_state=0,
    )
    instance = test.iloc[12]
    print(f"tabular, breast-cancer RF(100), {args.num_samples} samples, median of {args.repeats}")
    for k in (5, 10):
        o_total, o_out = measure(
            lambda k=k: ours.explain(
                instance, seed=0, num_features=k, num_samples=args.num_samples
            ),
            clocked,
            args.repeats,
        )
        o_model = o_total - o_out
        label = int(np.argmax(predict_array(instance.to_numpy()[None, :])))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            l_total, l_out = measure(
                lambda k=k, label=label: theirs.explain_instance(
                    instance.to_numpy(),
                    clocked,
                    labels=(label,),
                    num_features=k,
                    num_samples=args.num_samples,
                ),
                clocked,
                args.repeats,
            )
        report(f"num_features={k}", (o_total, o_out, o_model), (l_total, l_out, l_total - l_out))


if __name__ == "__main__":
    main()

"""Text: time outside the model vs the model's own time, limecli beside lime 0.2.0.1.

    pip install -e '.[bench]' && python bench/bench_text.py [--repeats 5]

Same model (the sample TF-IDF + LogisticRegression newsgroups pipeline), same
300-word document (posts of the sample test set, cut to 300 words), same
sample count (5000), bag of words. Prints medians and ratios; machines here are
shared and noisy, so read the ratios, not the seconds.

The reference rebuilds every perturbed string in a Python loop and refits a
scikit-learn Ridge per candidate in forward selection (num_features <= 6);
limecli builds a batch of strings with numpy and selects on the Gram matrix.
A last line per case splits limecli's time outside the model into the
surrogate fit with its stability check (shared with the other kinds; timed in
extra runs) and the text-specific rest.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import ClockedModel, measure, report

import limecli.explainers.base as text_explainer  # where every kind calls explain_labels
from limecli import TextExplainer, wrap_model

ROOT = Path(__file__).resolve().parent.parent


def surrogate_seconds(run: Callable[[], Any], repeats: int) -> float:
    """Median seconds of one explanation spent fitting and assessing the surrogates.

    Measured in separate runs, so the clock around ``explain_labels`` (the
    surrogate fit and its stability check, shared by every kind) does not
    touch the timed ones.
    """
    inner = text_explainer.explain_labels
    spent = [0.0]

    def clocked(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    text_explainer.explain_labels = clocked  # type: ignore[assignment]
    try:
        times = []
        for _ in range(repeats):
            spent[0] = 0.0
            run()
            times.append(spent[0])
    finally:
        text_explainer.explain_labels = inner
    return statistics.median(times)


def document(n_words: int = 300) -> str:
    """The sample test posts, joined, cut after ``n_words`` words."""
    posts = pd.read_csv(ROOT / "sample_data" / "text" / "newsgroups_test.csv")["text"]
    text = "\n".join(posts.head(40))
    ends = [m.end() for m in re.finditer(r"\w+", text)]
    return text[: ends[n_words - 1]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=5000)
    args = parser.parse_args(argv)

    from lime.lime_text import LimeTextExplainer

    pipeline = joblib.load(ROOT / "sample_models" / "text_newsgroups.joblib")
    doc = document()
    n_distinct = len(set(re.findall(r"\w+", doc)))

    # Both sides get the same list-of-strings-in, probabilities-out function, clocked.
    clocked = ClockedModel(pipeline.predict_proba)
    ours = TextExplainer(wrap_model(clocked, mode="classification"))
    theirs = LimeTextExplainer(class_names=list(pipeline.classes_), random_state=0)
    label = int(np.argmax(pipeline.predict_proba([doc])[0]))
    print(
        f"text, TF-IDF + LR, 300 words ({n_distinct} distinct), {args.num_samples} samples, "
        f"median of {args.repeats}"
    )
    for k in (6, 10):
        run_ours = partial(ours.explain, doc, seed=0, num_features=k, num_samples=args.num_samples)
        o_total, o_out = measure(run_ours, clocked, args.repeats)
        o_surrogate = surrogate_seconds(run_ours, args.repeats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            l_total, l_out = measure(
                lambda k=k: theirs.explain_instance(
                    doc,
                    clocked,
                    labels=(label,),
                    num_features=k,
                    num_samples=args.num_samples,
                ),
                clocked,
                args.repeats,
            )
        selection = "forward" if k <= 6 else "highest_weights"
        name = f"num_features={k} ({selection})"
        report(name, (o_total, o_out, o_total - o_out), (l_total, l_out, l_total - l_out))
        print(
            f"{'':<34} outside the model: limecli {o_out:.3f}s, lime {l_out:.3f}s "
            f"({l_out / o_out:.1f}x less); model {o_total - o_out:.3f}s vs {l_total - l_out:.3f}s"
        )
        print(
            f"{'':<34} limecli outside the model: surrogate fit + stability {o_surrogate:.3f}s "
            f"({o_surrogate / o_out:.0%}), the rest (tokens, masks, texts, distances) "
            f"{o_out - o_surrogate:.3f}s"
        )


if __name__ == "__main__":
    main()

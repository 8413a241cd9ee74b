"""Text scaling: CPU time and peak memory growth as distinct words grow, limecli beside lime 0.2.0.1.

    pip install -e '.[bench]'
    python bench/bench_scaling_text.py [--distinct 100,500,1700] [--words 5000]
                                       [--repeats 3] [--num-samples 5000]

The shipped TF-IDF + LogisticRegression newsgroups pipeline explains a
WORDS-word document with DISTINCT distinct words (bag of words, so one
interpretable feature per distinct word), built deterministically without
downloading anything: the sample test posts' words (cycled, kept to the first
DISTINCT distinct ones), with words of scikit-learn's bundled dataset
descriptions (``sklearn/datasets/descr/*.rst``) not in those posts spread
evenly through it until the document holds DISTINCT distinct words. Both
sides run with their defaults (``LimeTextExplainer`` with ``random_state=0``
explaining the predicted class, ``TextExplainer`` with ``seed=0``), 10
features ("auto" selection: highest weights), the same sample count.

Each measurement is a fresh Python process (both libraries, the model and the
document loaded before the clock), so the peak memory is that explanation's
alone: growth is the process's peak RSS (Linux's VmHWM) after the explanation
less its peak before it. Time is the process's CPU seconds (``time.process_time``: every thread,
BLAS's included). limecli and lime are interleaved, each repeated REPEATS
times; medians, and limecli's ratio to lime (time: below 1 is faster; memory:
below 1 is less).
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import json
import re
import statistics
import subprocess
import sys
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_WORD = re.compile(r"\w+")


def document(n_words: int, n_distinct: int) -> str:
    """``n_words`` words with ``n_distinct`` distinct ones (see the module docstring)."""
    import pandas as pd
    import sklearn

    posts = pd.read_csv(ROOT / "sample_data" / "text" / "newsgroups_test.csv")["text"]
    base = _WORD.findall("\n".join(posts))
    descr = Path(sklearn.__file__).parent / "datasets" / "descr"
    extra_text = "\n".join(f.read_text(encoding="utf-8") for f in sorted(descr.glob("*.rst")))
    seen = set(base)
    new = list(dict.fromkeys(w for w in _WORD.findall(extra_text) if w not in seen))
    # How many new words: the posts' part shrinks as new words take its place (a fixed point).
    n_new, allowed = 0, set(base)
    for _ in range(50):
        first = list(dict.fromkeys(base[i % len(base)] for i in range(n_words - n_new)))
        allowed = set(first[:n_distinct])
        need = min(max(0, n_distinct - len(allowed)), len(new))
        if need == n_new:
            break
        n_new = need
    part = list(islice((w for w in cycle(base) if w in allowed), n_words - n_new))
    words: list[str] = []
    extra = new[:n_new]
    j = 0
    for i, word in enumerate(part):
        words.append(word)
        while j < n_new and (j + 1) * len(part) <= (i + 1) * n_new:
            words.append(extra[j])
            j += 1
    words += extra[j:]
    return " ".join(words)


def one_run(side: str, n_words: int, n_distinct: int, num_samples: int) -> dict[str, float]:
    """One explanation in this process: CPU seconds and peak memory growth (MB)."""
    import time
    import warnings

    import joblib
    import numpy as np
    from lime.lime_text import LimeTextExplainer

    from limecli import TextExplainer, wrap_model

    pipeline = joblib.load(ROOT / "sample_models" / "text_newsgroups.joblib")
    doc = document(n_words, n_distinct)
    label = int(np.argmax(pipeline.predict_proba([doc])[0]))
    before = peak_rss_kib()
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if side == "limecli":
            explainer = TextExplainer(wrap_model(pipeline.predict_proba, mode="classification"))
            explainer.explain(doc, seed=0, num_samples=num_samples)
        else:
            theirs = LimeTextExplainer(class_names=list(pipeline.classes_), random_state=0)
            theirs.explain_instance(
                doc, pipeline.predict_proba, labels=(label,), num_samples=num_samples
            )
    seconds = time.process_time() - start
    after = peak_rss_kib()
    return {"cpu_s": seconds, "peak_growth_mb": (after - before) / 1024}


def peak_rss_kib() -> int:
    """This process's peak RSS so far, KiB: Linux's VmHWM, which is its own address space's.
    (``ru_maxrss`` starts at the parent's peak when the process was started: under a large
    parent, such as bench/run.py with its imports, the growth read 0 MB.)"""
    import resource

    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    scale = 1024 if sys.platform == "darwin" else 1  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale


def measured(side: str, n_words: int, n_distinct: int, num_samples: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--one", side, str(n_words), str(n_distinct)]
    command += ["--num-samples", str(num_samples)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Run the comparison and print it; the rows (medians per size) for bench/run.py."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--distinct", default="100,500,1700")
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument(
        "--one", nargs=3, metavar=("SIDE", "WORDS", "DISTINCT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.one:
        side, n_words, n_distinct = args.one
        result = one_run(side, int(n_words), int(n_distinct), args.num_samples)
        print(json.dumps(result))
        return []
    sizes = [int(d) for d in args.distinct.split(",")]
    runs: dict[tuple[int, str], list[dict[str, float]]] = {
        (d, side): [] for d in sizes for side in ("limecli", "lime")
    }
    for _ in range(args.repeats):  # interleaved: each repeat runs every configuration once
        for d in sizes:
            for side in ("limecli", "lime"):
                runs[d, side].append(measured(side, args.words, d, args.num_samples))
    print(
        f"text scaling, TF-IDF + LR, {args.words}-word documents, {args.num_samples} samples, "
        f"CPU seconds and peak memory growth, median of {args.repeats} (fresh process each)"
    )
    rows: list[dict[str, float]] = []
    for d in sizes:
        ours = {
            k: statistics.median(r[k] for r in runs[d, "limecli"])
            for k in ("cpu_s", "peak_growth_mb")
        }
        lime = {
            k: statistics.median(r[k] for r in runs[d, "lime"]) for k in ("cpu_s", "peak_growth_mb")
        }
        print(
            f"{d:>5} distinct words  limecli {ours['cpu_s']:7.2f}s {ours['peak_growth_mb']:6.0f} MB | "
            f"lime {lime['cpu_s']:7.2f}s {lime['peak_growth_mb']:6.0f} MB | "
            f"limecli/lime time {ours['cpu_s'] / lime['cpu_s']:5.2f}x, "
            f"memory {ours['peak_growth_mb'] / max(lime['peak_growth_mb'], 1.0):5.2f}x"
        )
        rows.append(
            {
                "distinct": d,
                "limecli_s": ours["cpu_s"],
                "lime_s": lime["cpu_s"],
                "limecli_mb": ours["peak_growth_mb"],
                "lime_mb": lime["peak_growth_mb"],
            }
        )
    return rows


if __name__ == "__main__":
    main()

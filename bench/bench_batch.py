"""Batch throughput (inputs/second): tabular shared pool vs independent pools vs one by one;
text and image batches at 1 and 2 jobs.

    pip install -e '.[bench]'
    python bench/bench_batch.py [--rows 100] [--num-samples 5000] [--repeats 3]
                                [--texts 40] [--images 16] [--kinds tabular,text,image]

The shipped breast-cancer RandomForest (100 trees), the first ROWS rows of the
test split, 5000 samples each. "lime loop" is lime 0.2.0.1's ``explain_instance`` on
each row (5000 samples, its defaults; timed once, it is slow); "one by one" is a loop of
``TabularExplainer.explain``; "independent" and "shared" go through the batch runner
(``limecli.batch.run_batch``, records rendered as JSONL into memory), the shared timing
including drawing the pool and the model calls on it and on the rows. The process keeps
freed memory for reuse as the command's does (``limecli.allocator``). As a command does
while it reads its data, the fork server the workers come from is started (and has its
imports) before the clock, once per kind; each 2-job batch still forks its workers and
sends them the work. Also prints how close shared-pool explanations are to independent
ones (they use different random samples, so they are compared statistically: the same
top features, similar weights).

Text: the first TEXTS posts of the newsgroups test split (the shipped
TF-IDF + logistic regression pipeline, 5000 samples each), written to files
and read by the workers, as ``limecli text MODEL posts/ --jobs N`` does.
Image: the four sample images, cycled to IMAGES inputs (the shapes predict
script, quickshift, 1000 samples each, top 5 labels), each read in the
worker and drawn to an overlay PNG in a temporary ``--out-dir``.
"""

from __future__ import annotations

if __name__ == "__main__":  # its extra first, before the heavy imports below
    from _requires import require

    require("lime")

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from limecli import TabularExplainer, load_model
from limecli.batch import StreamSink, derive_seed, run_batch
from limecli.batch.executors import release_early, start_early
from limecli.batch.tasks_tabular import TabularBatchTask, tabular_batch_inputs

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "sample_data/breast_cancer_test.csv"


def main() -> None:
    from limecli.allocator import keep_freed_memory

    keep_freed_memory()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--kinds", default="tabular,text,image")
    args = parser.parse_args()
    kinds = {k.strip() for k in args.kinds.split(",")}
    if "tabular" in kinds:
        with _fork_server("tabular"):
            bench_tabular(args)
    if "text" in kinds:
        with _fork_server("text"):
            bench_text(args.texts, args.repeats)
    if "image" in kinds:
        with _fork_server("image"):
            bench_image(args.images, args.repeats)


@contextlib.contextmanager
def _fork_server(kind: str) -> Iterator[None]:
    """The 2-job batches' fork server running with ``kind``'s imports, as ``limecli KIND ...
    --jobs 2`` starts it before reading its data (else each batch would start its own)."""
    start_early(2, "local", None, kind)
    try:
        yield
    finally:
        release_early()


def bench_tabular(args: argparse.Namespace) -> None:

    predictor = load_model(str(ROOT / "sample_models" / "breast_cancer_rf.joblib"))
    train = pd.read_csv(ROOT / "sample_data" / "breast_cancer_train.csv")
    test = pd.read_csv(ROOT / SOURCE)
    explainer = TabularExplainer(predictor, train, num_samples=args.num_samples)
    rows = list(range(min(args.rows, len(test))))

    def one_by_one() -> None:
        for i in rows:
            identity = {"source": SOURCE, "row": i}
            explainer.explain(test.iloc[i], seed=derive_seed(0, identity), input_info=identity)

    def batch(shared: bool, jobs: int) -> Callable[[], None]:
        def run() -> None:
            pool = explainer.shared_pool(seed=0) if shared else None
            task = TabularBatchTask(explainer, pool)
            inputs = tabular_batch_inputs(explainer, test, rows, source=SOURCE, shared=shared)
            run_batch(
                inputs,
                task,
                StreamSink("jsonl", io.StringIO()),
                kind="tabular",
                seed=0,
                jobs=jobs,
                chunk_size=32 if shared else 4,
            )

        return run

    print(
        f"tabular batch, breast-cancer RF(100), {len(rows)} rows x {args.num_samples} samples, "
        f"median of {args.repeats}"
    )
    lime_rate = _rate(lime_loop(test, train, predictor, rows, args.num_samples), len(rows), 1)
    print(f"{'lime loop (explain_instance)':<28} jobs 1  {lime_rate:8.1f} inputs/s   1.0x")
    base = _rate(one_by_one, len(rows), 1)
    print(
        f"{'one by one (explain loop)':<28} jobs 1  {base:8.1f} inputs/s {base / lime_rate:5.1f}x"
    )
    for name, shared in (("independent pools (batch)", False), ("shared pool (batch)", True)):
        for jobs in (1, 2):
            run = batch(shared, jobs)
            run()  # warm-up: the model's and the kind's first-call costs
            rate = _rate(run, len(rows), args.repeats)
            print(f"{name:<28} jobs {jobs}  {rate:8.1f} inputs/s {rate / lime_rate:5.1f}x")
    auto = TabularExplainer(predictor, train)  # the default: --num-samples auto
    auto_rate = _rate(
        lambda: auto.explain_many([test.iloc[i] for i in rows], seed=0), len(rows), args.repeats
    )
    print(
        f"{'shared pools, default auto':<28} jobs 1  {auto_rate:8.1f} inputs/s "
        f"{auto_rate / lime_rate:5.1f}x"
    )

    shared_exps = explainer.explain_many([test.iloc[i] for i in rows], seed=0)
    indep_exps = explainer.explain_many(
        [test.iloc[i] for i in rows], seed=0, independent_samples=True
    )
    same_label = overlap = 0.0
    diffs = []
    for a, b in zip(shared_exps, indep_exps, strict=True):
        la, lb = a.labels[0], b.labels[0]
        same_label += la.label == lb.label
        top_a = {f.feature for f in la.features[:5]}
        top_b = {f.feature for f in lb.features[:5]}
        overlap += len(top_a & top_b) / 5
        wb = {f.name: f.weight for f in lb.features}
        diffs += [abs(f.weight - wb[f.name]) for f in la.features if f.name in wb]
    n = len(rows)
    print(
        f"shared vs independent: same label {same_label / n:.0%}, top-5 features in common "
        f"{overlap / n:.0%}, median |weight difference| {statistics.median(diffs):.4f} "
        f"(weights' median |w| {statistics.median(abs(f.weight) for e in indep_exps for f in e.labels[0].features):.4f})"
    )


def lime_loop(
    test: pd.DataFrame, train: pd.DataFrame, predictor: Any, rows: list[int], num_samples: int
) -> Callable[[], None]:
    """lime's way to explain many rows: explain_instance on each, its default settings."""
    import warnings

    from lime.lime_tabular import LimeTabularExplainer

    features = [c for c in train.columns if c != "diagnosis"]
    explainer = LimeTabularExplainer(
        train[features].to_numpy(), feature_names=features, random_state=0
    )
    predict = lambda batch: predictor(pd.DataFrame(batch, columns=features))  # noqa: E731

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in rows:
                explainer.explain_instance(
                    test[features].iloc[i].to_numpy(), predict, num_samples=num_samples
                )

    return run


def tabular_rates(rows: int = 100, repeats: int = 3) -> dict[str, float]:
    """Inputs per second for bench/run.py: lime's loop, our shared pool (5000), our default."""
    predictor = load_model(str(ROOT / "sample_models" / "breast_cancer_rf.joblib"))
    train = pd.read_csv(ROOT / "sample_data" / "breast_cancer_train.csv")
    test = pd.read_csv(ROOT / SOURCE)
    chosen = [test.iloc[i] for i in range(min(rows, len(test)))]
    fixed = TabularExplainer(predictor, train, num_samples=5000)
    auto = TabularExplainer(predictor, train)
    return {
        "rows": len(chosen),
        "lime": _rate(
            lime_loop(test, train, predictor, list(range(len(chosen))), 5000), len(chosen), 1
        ),
        "shared_5000": _rate(lambda: fixed.explain_many(chosen, seed=0), len(chosen), repeats),
        "shared_auto": _rate(lambda: auto.explain_many(chosen, seed=0), len(chosen), repeats),
    }


def _rate(run: Callable[[], None], n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def _batch_rows(name: str, n: int, repeats: int, run: Callable[[int], None]) -> None:
    for jobs in (1, 2):
        run(jobs)  # warm-up: the model's and the kind's first-call costs
        rate = _rate(lambda jobs=jobs: run(jobs), n, repeats)
        print(f"{name:<28} jobs {jobs}  {rate:8.1f} inputs/s")


def bench_text(n_texts: int, repeats: int) -> None:
    from limecli import TextExplainer
    from limecli.batch import per_input
    from limecli.batch.tasks_text import TextBatchTask, text_batch_inputs

    explainer = TextExplainer(load_model(str(ROOT / "sample_models" / "text_newsgroups.joblib")))
    posts = pd.read_csv(ROOT / "sample_data" / "text" / "newsgroups_test.csv")["text"]
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, body in enumerate(posts.iloc[:n_texts]):
            path = os.path.join(folder, f"post{i:03d}.txt")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(body))
            paths.append(path)
        words = sum(len(str(b).split()) for b in posts.iloc[:n_texts]) / len(paths)
        print(
            f"\ntext batch, newsgroups TF-IDF + LR, {len(paths)} posts ({words:.0f} words "
            f"on average) x 5000 samples, median of {repeats}"
        )
        task = per_input(TextBatchTask(explainer))

        def run(jobs: int) -> None:
            run_batch(
                text_batch_inputs(paths),
                task,
                StreamSink("jsonl", io.StringIO()),
                kind="text",
                seed=0,
                jobs=jobs,
                chunk_size=4,
            )

        _batch_rows("text files (batch)", len(paths), repeats, run)


def bench_image(n_images: int, repeats: int) -> None:
    from limecli import ImageExplainer
    from limecli.batch import BatchInput, InputRef, per_input
    from limecli.batch.tasks_image import ImageBatchTask

    model = load_model(f"{ROOT / 'sample_models' / 'predict_shapes.py'}:predict")
    explainer = ImageExplainer(model, hide_color=0)
    samples = sorted((ROOT / "sample_data" / "images").iterdir())
    print(
        f"\nimage batch, shapes predict script, {n_images} images (the 4 samples: 96x64 and "
        f"224x224, cycled), quickshift, 1000 samples, top 5 labels, overlay PNGs, "
        f"median of {repeats}"
    )
    with tempfile.TemporaryDirectory() as out_dir:
        task = per_input(ImageBatchTask(explainer, out_dir=out_dir))

        def run(jobs: int) -> None:
            inputs = (
                BatchInput(
                    InputRef.file(f"copy{i}/{samples[i % len(samples)].name}"),
                    (str(samples[i % len(samples)]), f"copy{i}"),
                )
                for i in range(n_images)
            )
            run_batch(
                inputs,
                task,
                StreamSink("jsonl", io.StringIO()),
                kind="image",
                seed=0,
                jobs=jobs,
                chunk_size=1,
            )

        _batch_rows("image files (batch)", n_images, repeats, run)


if __name__ == "__main__":
    main()

"""Batched model calls give what one call gives: Predictor.predict and the text batch_size option."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from limecli import TextExplainer, explain_text, wrap_model
from limecli.model.predictor import DEFAULT_BATCH_SIZE, Predictor

WORDS = [
    *("river", "stone", "cloud", "paper", "window", "garden"),
    *("lamp", "table", "chair", "music", "road", "bridge"),
]
DOCUMENT = "the river was excellent and the stone bridge awful, excellent music by the road"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """TF-IDF + logistic regression where only 'excellent' and 'awful' carry signal."""
    rng = np.random.default_rng(0)
    docs, labels = [], []
    for i in range(200):
        words = [*rng.choice(WORDS, size=6), "excellent" if i % 2 else "awful"]
        rng.shuffle(words)
        docs.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, labels)


class Recorder:
    """A model function that remembers the batches it was called with."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.batches: list[Any] = []

    def __call__(self, batch: Any) -> Any:
        self.batches.append(batch)
        return self.fn(batch)

    def sizes(self) -> list[int]:
        return [len(b) for b in self.batches]


SIZES = [1, 3, 7, 50, 64, 1000, None]


def chunk_sizes(n: int, size: int | None) -> list[int]:
    size = size or DEFAULT_BATCH_SIZE
    return [min(size, n - start) for start in range(0, n, size)]


@pytest.mark.parametrize("batch_size", SIZES)
def test_predict_in_batches_equals_one_call_for_a_text_pipeline(
    pipeline: Pipeline, batch_size: int | None
) -> None:
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice([*WORDS, "excellent", "awful"], size=5)) for _ in range(130)]
    whole = wrap_model(pipeline)(texts)
    recorder = Recorder(pipeline.predict_proba)
    batched = Predictor(recorder, mode="classification").predict(texts, batch_size)
    # TF-IDF rows are computed one text at a time, so the numbers match exactly.
    np.testing.assert_array_equal(batched, whole)
    assert recorder.sizes() == chunk_sizes(130, batch_size)
    assert [t for batch in recorder.batches for t in batch] == texts


def rowwise(x: np.ndarray) -> np.ndarray:
    """A model whose every output row depends on its input row only, elementwise."""
    p = 1.0 / (1.0 + np.exp(-np.tanh(np.asarray(x, dtype=float)).sum(axis=1)))
    return np.c_[1 - p, p]


@pytest.mark.parametrize("batch_size", SIZES)
def test_predict_in_batches_equals_one_call_for_arrays_and_frames(
    batch_size: int | None,
) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1234, 4))
    exact = Predictor(rowwise, mode="classification")
    np.testing.assert_array_equal(exact.predict(x, batch_size), rowwise(x))

    frame = pd.DataFrame(x, columns=list("abcd"), index=np.arange(1234) * 3)  # not 0..n-1
    recorder = Recorder(lambda df: rowwise(df.to_numpy()))
    batched = Predictor(recorder, mode="classification", feature_names=list("abcd"))
    np.testing.assert_array_equal(batched.predict(frame, batch_size), rowwise(x))
    assert recorder.sizes() == chunk_sizes(1234, batch_size)
    pd.testing.assert_frame_equal(pd.concat(recorder.batches), frame)

    # A real fitted model: BLAS may order its sums by block, so allow rounding only.
    y = (x[:, 0] - x[:, 2] > 0).astype(int)
    model = wrap_model(LogisticRegression().fit(x, y))
    np.testing.assert_allclose(model.predict(x, batch_size), model(x), rtol=0, atol=1e-12)


def without_batch_size(exp: dict[str, Any]) -> dict[str, Any]:
    exp = json.loads(json.dumps(exp))
    exp["params"].pop("batch_size")
    return exp


@pytest.mark.parametrize("batch_size", [1, 7, 64, 299, 300, 5000])
def test_text_explanation_does_not_depend_on_batch_size(
    pipeline: Pipeline, batch_size: int
) -> None:
    one = Recorder(pipeline.predict_proba)
    whole = TextExplainer(wrap_model(one, mode="classification"), batch_size=300)
    reference = whole.explain(DOCUMENT, seed=5, num_samples=300, top_labels=2)
    assert one.sizes() == [300]

    chunked = Recorder(pipeline.predict_proba)
    explainer = TextExplainer(wrap_model(chunked, mode="classification"), batch_size=batch_size)
    exp = explainer.explain(DOCUMENT, seed=5, num_samples=300, top_labels=2)
    assert chunked.sizes() == chunk_sizes(300, batch_size)
    # The model saw the same texts in the same order, only cut differently.
    assert [t for b in chunked.batches for t in b] == one.batches[0]
    assert exp.params["batch_size"] == batch_size
    assert without_batch_size(exp.to_dict()) == without_batch_size(reference.to_dict())
    assert exp.labels[0].features[0].feature in {"excellent", "awful"}


def test_explain_text_batch_size_gives_the_same_explanation(pipeline: Pipeline) -> None:
    runs = [
        explain_text(pipeline, DOCUMENT, seed=2, num_samples=400, batch_size=size).to_dict()
        for size in (None, 13, 400)
    ]
    assert runs[0]["params"]["batch_size"] == DEFAULT_BATCH_SIZE
    assert without_batch_size(runs[1]) == without_batch_size(runs[0])
    assert without_batch_size(runs[2]) == without_batch_size(runs[0])


def test_cli_batch_size_gives_the_same_output(
    pipeline: Pipeline, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    model = tmp_path / "model.joblib"
    joblib.dump(pipeline, model)
    docs = []
    for i, text in enumerate([DOCUMENT, "awful awful road, excellent lamp", "garden excellent"]):
        path = tmp_path / f"doc{i}.txt"
        path.write_text(text, encoding="utf-8")
        docs.append(path)
    common = ("--num-samples", "250", "--seed", "4", "--format", "json", "-q")

    def explain(*extra: object) -> Any:
        result = run_cli("text", model, docs[0], *common, *extra)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    default = explain()
    for size in ("1", "9", "250"):
        assert without_batch_size(explain("--batch-size", size)) == without_batch_size(default)

    # The batch path (several inputs, JSONL) too.
    def batch(*extra: object) -> list[Any]:
        result = run_cli("text", model, *docs, *common[:4], "--format", "jsonl", "-q", *extra)
        assert result.exit_code == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    records = batch()
    assert len(records) == 3
    assert [without_batch_size(r) for r in batch("--batch-size", "17")] == [
        without_batch_size(r) for r in records
    ]

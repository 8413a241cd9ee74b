"""Text LIME (Ribeiro et al. 2016): which words pushed a text model's prediction up or down.

Defaults follow the reference implementation: words as interpretable
features (bag of words), 5000 samples, each removing a random number of
words; cosine distance to the original text (x100) under an exponential
kernel of width 25; weighted Ridge(alpha=1) surrogate with "auto" feature
selection; the predicted class explained. Unlike the reference, regression
models are explained too, the tokeniser keeps words of any script whole,
and perturbed texts are built with numpy for a whole batch of model calls.

A feature's JSON record: ``feature`` is the word (or character with
``char_level``), ``value`` the number of occurrences it stands for (bag of
words: how often the word occurs; ``bow=False``: 1), ``positions`` the
[start, end) character offsets of those occurrences in ``Explanation.data["text"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import InputDataError, ParameterError, PredictorOutputError
from limecli.explainers.common import (
    as_predictor,
    choose_labels,
    explain_labels,
    prediction_record,
    validate_common,
)
from limecli.explanation import Explanation, FeatureWeight, library_versions
from limecli.model.predictor import DEFAULT_BATCH_SIZE
from limecli.sampling.text import (
    DEFAULT_MASK_TOKEN,
    TextSampler,
    TokenizedText,
    compile_split_expression,
    tokenize,
)
from limecli.surrogate import exponential_kernel
from limecli.validation import check_float, check_int, check_random_state

#: The reference's kernel width for text (on cosine distance x 100).
DEFAULT_KERNEL_WIDTH = 25.0


class TextExplainer:
    """Explains a text model's predictions in terms of the words of the text.

    ``model`` is a :class:`~limecli.model.predictor.Predictor` (see
    :func:`limecli.load_model`), a fitted pipeline whose ``predict_proba`` or
    ``predict`` takes a list of strings, or a callable doing the same.
    """

    def __init__(
        self,
        model: Any,
        *,
        bow: bool = True,
        split_expression: str | None = None,
        char_level: bool = False,
        mask_token: str = DEFAULT_MASK_TOKEN,
        kernel_width: float = DEFAULT_KERNEL_WIDTH,
        feature_selection: str = "auto",
        num_samples: int = 5000,
        num_features: int = 10,
        batch_size: int | None = None,
        mode: str | None = None,
    ) -> None:
        validate_common(num_samples, num_features, None, feature_selection)
        check_float("kernel_width", kernel_width, min_value=0)
        if batch_size is not None:
            check_int("batch_size", batch_size, min_value=1)
        if split_expression is not None:
            compile_split_expression(split_expression)
            if char_level:
                raise ParameterError("split_expression and char_level cannot be used together")
        if not isinstance(mask_token, str):
            raise ParameterError(
                f"The 'mask_token' parameter must be a str. Got {mask_token!r} instead."
            )
        self.predictor = as_predictor(model, mode)
        self.bow = bool(bow)
        self.split_expression = split_expression
        self.char_level = bool(char_level)
        self.mask_token = mask_token
        self.kernel_width = float(kernel_width)
        self.feature_selection = feature_selection
        self.num_samples = num_samples
        self.num_features = num_features
        self.batch_size = batch_size

    def tokenize(self, text: str) -> TokenizedText:
        return tokenize(
            text, bow=self.bow, split_expression=self.split_expression, char_level=self.char_level
        )

    def explain(
        self,
        text: str,
        *,
        seed: int | None = None,
        labels: Sequence[str | int] | None = None,
        top_labels: int | None = None,
        num_samples: int | None = None,
        num_features: int | None = None,
        input_info: dict[str, Any] | None = None,
    ) -> Explanation:
        """Explain the model's prediction for ``text``."""
        if not isinstance(text, str):
            raise InputDataError(f"the text to explain must be a str, not {type(text).__name__}")
        num_samples = self.num_samples if num_samples is None else num_samples
        num_features = self.num_features if num_features is None else num_features
        validate_common(num_samples, num_features, top_labels, self.feature_selection)
        info = {"source": None, "index": None, **(input_info or {})}
        tokenized = self.tokenize(text)
        if tokenized.n_features == 0:
            raise InputDataError(
                f"{_where(info)} has no words to explain (it is empty or only "
                "punctuation/whitespace)"
            )
        rng = check_random_state(seed)
        sampler = TextSampler(tokenized, self.mask_token)
        keep = sampler.draw(num_samples, rng)
        outputs = self._predict(sampler, keep)
        distances = binary_cosine_distances_to_first(keep) * 100.0
        data = keep.astype(float)
        del keep
        weights = exponential_kernel(distances, self.kernel_width)
        label_idx = choose_labels(self.predictor, outputs[0], labels, top_labels)

        found: dict[int, list[list[int]]] = {}

        def describe(j: int) -> FeatureWeight:
            # Several labels often pick the same words: find each word's positions once.
            if j not in found:
                found[j] = tokenized.positions(j)
            positions = [list(p) for p in found[j]]
            word = tokenized.feature_names[j]
            name = word if self.bow else f"{word}@{positions[0][0]}"
            return FeatureWeight(
                name=name,
                feature=word,
                value=len(positions),
                weight=0.0,
                extra={"positions": positions},
            )

        label_explanations = explain_labels(
            self.predictor,
            data,
            outputs,
            weights,
            label_idx,
            num_features,
            self.feature_selection,
            describe,
        )
        params = {
            "num_samples": num_samples,
            "num_features": num_features,
            "seed": seed,
            "kernel": "exponential",
            "kernel_width": self.kernel_width,
            "distance": "cosine*100",
            "bow": self.bow,
            "tokenizer": "char"
            if self.char_level
            else ("split_expression" if self.split_expression is not None else "words"),
            "split_expression": self.split_expression,
            "char_level": self.char_level,
            "mask_token": None if self.bow else (self.mask_token or DEFAULT_MASK_TOKEN),
            "feature_selection": self.feature_selection,
            "surrogate": "ridge(alpha=1)",
            "batch_size": self.batch_size or DEFAULT_BATCH_SIZE,
        }
        return Explanation(
            kind="text",
            mode=str(self.predictor.mode),
            input=info,
            prediction=prediction_record(self.predictor, outputs[0]),
            labels=label_explanations,
            params=params,
            meta={"method": "lime", "model": self.predictor.source, "versions": library_versions()},
            data={
                "text": text,
                "num_tokens": tokenized.n_tokens,
                "num_interpretable_features": tokenized.n_features,
            },
        )

    def _predict(self, sampler: TextSampler, keep: np.ndarray) -> np.ndarray:
        """Model outputs for every sample; texts are written one batch at a time."""
        size = self.batch_size or DEFAULT_BATCH_SIZE
        n = keep.shape[0]
        outputs: np.ndarray | None = None
        for start in range(0, n, size):
            stop = min(start + size, n)
            chunk = self.predictor(sampler.texts(keep[start:stop]))
            if outputs is None:
                outputs = np.empty((n, chunk.shape[1]), dtype=float)
            elif chunk.shape[1] != outputs.shape[1]:
                raise PredictorOutputError(
                    f"the model {self.predictor.source} returned {chunk.shape[1]} column(s) for "
                    f"one batch and {outputs.shape[1]} for another"
                )
            outputs[start:stop] = chunk
        assert outputs is not None
        return outputs


def binary_cosine_distances_to_first(keep: np.ndarray) -> np.ndarray:
    """``cosine_distances_to_first(keep.astype(float))`` for a 0/1 matrix, from counts.

    On 0/1 rows a squared norm is the count of ones and a dot product the count
    of shared ones, both exact in floating point, so this gives the same
    numbers bit for bit with integer counting instead of a float matrix pass
    and a BLAS product (whose idle threads cost more than the product here).
    """
    keep = np.asarray(keep, dtype=bool)
    norms = np.sqrt(np.count_nonzero(keep, axis=1).astype(float))
    dots = np.count_nonzero(keep & keep[0], axis=1).astype(float)
    denom = norms * norms[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), 0.0)
    return 1.0 - np.clip(sim, -1.0, 1.0)


def _where(info: dict[str, Any]) -> str:
    source = info.get("source") or "the text"
    index = info.get("index")
    return f"{source} row {index}" if index is not None else str(source)


def explain_text(
    model: Any,
    text: str | Path,
    *,
    num_samples: int = 5000,
    num_features: int = 10,
    seed: int | None = None,
    labels: Sequence[str | int] | None = None,
    top_labels: int | None = None,
    bow: bool = True,
    split_expression: str | None = None,
    char_level: bool = False,
    mask_token: str = DEFAULT_MASK_TOKEN,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    feature_selection: str = "auto",
    batch_size: int | None = None,
    mode: str | None = None,
    encoding: str | None = None,
) -> Explanation:
    """Explain ``model``'s prediction for ``text`` (a string, or a :class:`~pathlib.Path` to read).

    >>> exp = explain_text(load_model("sentiment.joblib"), "a truly great film", seed=0)
    >>> exp.as_list()[:3]
    """
    input_info: dict[str, Any] = {"source": None, "index": None}
    if isinstance(text, Path):
        from limecli.inputs.text import read_texts

        (item,) = read_texts([text], encoding=encoding)
        text, input_info = item.text, item.input_info()
    explainer = TextExplainer(
        model,
        bow=bow,
        split_expression=split_expression,
        char_level=char_level,
        mask_token=mask_token,
        kernel_width=kernel_width,
        feature_selection=feature_selection,
        num_samples=num_samples,
        num_features=num_features,
        batch_size=batch_size,
        mode=mode,
    )
    return explainer.explain(
        text, seed=seed, labels=labels, top_labels=top_labels, input_info=input_info
    )

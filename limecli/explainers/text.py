"""Text LIME (Ribeiro et al. 2016): which words pushed a text model's prediction up or down.

Defaults follow the reference implementation: words as interpretable
features (bag of words), 5000 samples, each removing a random number of
words; cosine distance to the original text (x100) under an exponential
kernel of width 25; weighted Ridge(alpha=1) surrogate with "auto" feature
selection; the predicted class explained. Unlike the reference, regression
models are explained too, the tokeniser keeps words of any script whole
and emoji and emoticons (``😀``, ``👍🏽``, ``:)``) as tokens of their own
(:mod:`limecli.sampling.tokens`), and perturbed texts are built with numpy for
a whole batch of model calls.

A feature's JSON record: ``feature`` is the word, emoji or emoticon (or
character with ``char_level``), ``value`` the number of occurrences it stands for (bag of
words: how often the word occurs; ``bow=False``: 1), ``positions`` the
[start, end) character offsets of those occurrences in ``Explanation.data["text"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from limecli.errors import InputDataError, ParameterError, PredictorOutputError
from limecli.explainers.base import Explainer
from limecli.explanation import Explanation, FeatureWeight
from limecli.inputs.ref import InputRef
from limecli.model.predictor import DEFAULT_BATCH_SIZE
from limecli.sampling.text import (
    DEFAULT_MASK_TOKEN,
    TextSampler,
    TokenizedText,
    compile_split_expression,
    tokenize,
)
from limecli.validation import check_sample_memory

#: The reference's kernel width for text (on cosine distance x 100).
DEFAULT_KERNEL_WIDTH = 25.0


@dataclass
class TextInstance:
    """A text to explain, tokenised, with its identity for the record."""

    text: str
    tokenized: TokenizedText
    input: dict[str, Any]


class TextExplainer(Explainer[TextInstance]):
    """Explains a text model's predictions in terms of the words of the text.

    ``model`` is a :class:`~limecli.model.predictor.Predictor` (see
    :func:`limecli.load_model`), a fitted pipeline whose ``predict_proba`` or
    ``predict`` takes a list of strings, or a callable doing the same.
    """

    kind = "text"
    distance = "cosine*100"
    kernel_width: float

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
        num_features: int | str = 10,
        batch_size: int | None = None,
        mode: str | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            model,
            mode=mode,
            num_samples=num_samples,
            num_features=num_features,
            feature_selection=feature_selection,
            kernel_width=kernel_width,
            batch_size=batch_size,
            class_names=class_names,
        )
        if split_expression is not None:
            compile_split_expression(split_expression)
            if char_level:
                raise ParameterError("split_expression and char_level cannot be used together")
        if not isinstance(mask_token, str):
            raise ParameterError(
                f"The 'mask_token' parameter must be a str. Got {mask_token!r} instead.",
                parameters=("mask_token",),
            )
        self.bow = bool(bow)
        self.split_expression = split_expression
        self.char_level = bool(char_level)
        self.mask_token = mask_token

    def tokenize(self, text: str) -> TokenizedText:
        return tokenize(
            text, bow=self.bow, split_expression=self.split_expression, char_level=self.char_level
        )

    def _check_instance(self, instance: Any) -> None:
        if not isinstance(instance, str):
            raise InputDataError(
                f"the text to explain must be a str, not {type(instance).__name__}"
            )

    def _prepare(self, instance: Any, input_info: dict[str, Any] | None) -> TextInstance:
        # A text's identity always names its source and index, None when it has none.
        info = {**InputRef.text(None).to_dict(), **(input_info or {})}
        tokenized = self.tokenize(instance)
        if tokenized.n_features == 0:
            raise InputDataError(
                f"{_where(info)} has no words to explain (it is empty or only "
                "punctuation/whitespace)"
            )
        return TextInstance(instance, tokenized, info)

    def _sample(
        self, subject: TextInstance, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        batch = min(n, self.batch_size or DEFAULT_BATCH_SIZE)  # texts written per model call
        check_sample_memory(
            n, subject.tokenized.n_features, batch=batch, per_input=len(subject.text)
        )
        sampler = TextSampler(subject.tokenized, self.mask_token)
        keep = sampler.draw(n, rng)
        outputs = self._predict(sampler, keep)
        return keep.astype(float), outputs

    def _distances(self, data: np.ndarray) -> np.ndarray:
        # The interpretable data is 0/1: the distances come from counts (same numbers).
        return binary_cosine_distances_to_first(data) * 100.0

    def _describer(self, subject: TextInstance) -> Callable[[int], FeatureWeight]:
        tokenized = subject.tokenized
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

        return describe

    def _params(self, subject: TextInstance) -> dict[str, Any]:
        if self.char_level:
            tokenizer = "char"
        else:
            tokenizer = "split_expression" if self.split_expression is not None else "words"
        return {
            "bow": self.bow,
            "tokenizer": tokenizer,
            "split_expression": self.split_expression,
            "char_level": self.char_level,
            "mask_token": None if self.bow else (self.mask_token or DEFAULT_MASK_TOKEN),
            **self._surrogate_params(),
            "batch_size": self.batch_size or DEFAULT_BATCH_SIZE,
        }

    def _input(self, subject: TextInstance) -> dict[str, Any]:
        return subject.input

    def _data(self, subject: TextInstance) -> dict[str, Any]:
        return {
            "text": subject.text,
            "num_tokens": subject.tokenized.n_tokens,
            "num_interpretable_features": subject.tokenized.n_features,
        }

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
    ref = InputRef.from_dict(info)
    source = ref.source or "the text"
    return f"{source} row {ref.position}" if ref.position is not None else source


def explain_text(
    model: Any,
    text: str | Path,
    *,
    num_samples: int = 5000,
    num_features: int | str = 10,
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
    class_names: Sequence[str] | None = None,
) -> Explanation:
    """Explain ``model``'s prediction for ``text`` (a string, or a :class:`~pathlib.Path` to read).

    >>> exp = explain_text(load_model("sentiment.joblib"), "a truly great film", seed=0)
    >>> exp.as_list()[:3]
    """
    input_info = InputRef.text(None).to_dict()
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
        class_names=class_names,
    )
    return explainer.explain(
        text, seed=seed, labels=labels, top_labels=top_labels, input_info=input_info
    )

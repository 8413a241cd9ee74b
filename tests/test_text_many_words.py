"""Texts with many distinct words (issue 20): the text side stays exact at 1,700 features.

bench/bench_scaling_text.py measures a 5,000-word document with 1,700 distinct
words beside lime. These tests hold the text-specific steps of such an
explanation to plain references at that size: the drawing of the masks against
argsort-and-scatter, the perturbed texts against a loop over the tokens, the
distances against the shared float formula (bit for bit), and a whole
explanation of a many-word text against one built with those references.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import limecli.explainers.text as text_explainer
from limecli import TextExplainer, wrap_model
from limecli.explainers.text import binary_cosine_distances_to_first
from limecli.sampling.text import TextSampler, TokenizedText, tokenize
from limecli.surrogate import cosine_distances_to_first

DISTINCT = 1700
LENGTH = 5000


def many_words(length: int = LENGTH, distinct: int = DISTINCT, seed: int = 0) -> str:
    """``length`` words, ``distinct`` of them different (each at least once), with punctuation."""
    rng = np.random.default_rng(seed)
    picks = np.concatenate([np.arange(distinct), rng.integers(0, distinct, length - distinct)])
    rng.shuffle(picks)
    separators = np.array([" ", " ", " ", ", ", ". ", "\n"])[rng.integers(0, 6, length)]
    return "".join(f"w{i}{sep}" for i, sep in zip(picks.tolist(), separators.tolist(), strict=True))


def naive_texts(tokenized: TokenizedText, keep: np.ndarray) -> list[str]:
    """Bag of words, one sample at a time: drop every token of a switched-off word, join."""
    text = tokenized.text
    spans = tokenized.spans.tolist()
    out = []
    for row in np.asarray(keep, dtype=bool):
        kept = row[tokenized.feature_of_token].tolist()
        pieces, cursor = [], 0
        for (start, end), on in zip(spans, kept, strict=True):
            pieces.append(text[cursor:start])
            if on:
                pieces.append(text[start:end])
            cursor = end
        pieces.append(text[cursor:])
        out.append("".join(pieces))
    return out


def reference_draw(d: int, num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """The drawing as first written: argsort a row of uniforms, remove its first k places."""
    keep = np.ones((num_samples, d), dtype=bool)
    for start in range(1, num_samples, 1024):
        stop = min(start + 1024, num_samples)
        k = rng.integers(1, max(d - 1, 1) + 1, size=stop - start)
        order = np.argsort(rng.random((stop - start, d)), axis=1)
        np.put_along_axis(keep[start:stop], order, np.arange(d)[None, :] >= k[:, None], axis=1)
    return keep


@pytest.fixture(scope="module")
def tokenized() -> TokenizedText:
    tok = tokenize(many_words())
    assert (tok.n_tokens, tok.n_features) == (LENGTH, DISTINCT)
    return tok


def test_draw_at_many_words_equals_argsort_and_scatter(tokenized: TokenizedText) -> None:
    got = TextSampler(tokenized).draw(2100, np.random.default_rng(7))
    np.testing.assert_array_equal(got, reference_draw(DISTINCT, 2100, np.random.default_rng(7)))
    removed = (~got[1:]).sum(axis=1)
    assert removed.min() >= 1 and removed.max() <= DISTINCT - 1


def test_texts_at_many_words_equal_the_naive_loop(tokenized: TokenizedText) -> None:
    sampler = TextSampler(tokenized)
    keep = sampler.draw(60, np.random.default_rng(1))
    expected = naive_texts(tokenized, keep)
    assert sampler.texts(keep) == expected
    # A long template writes few rows per step: splitting the batch changes nothing.
    assert sampler.texts(keep[:7]) + sampler.texts(keep[7:]) == expected


def test_distances_at_many_words_equal_the_float_formula_bit_for_bit(
    tokenized: TokenizedText,
) -> None:
    keep = TextSampler(tokenized).draw(3000, np.random.default_rng(2))
    got = binary_cosine_distances_to_first(keep)
    assert got.tobytes() == cosine_distances_to_first(keep.astype(float)).tobytes()


def planted_model(texts: list[str]) -> np.ndarray:
    """Two classes; 'w1' pushes towards the second, 'w2' away, the other words do nothing."""
    words = [set(re.findall(r"\w+", t)) for t in texts]
    score = np.array([("w1" in w) * 2.0 - ("w2" in w) * 1.5 for w in words])
    p = 1 / (1 + np.exp(-score))
    return np.column_stack([1 - p, p])


def test_explanation_of_a_many_word_text_equals_the_plain_references(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = many_words(length=1500, distinct=600, seed=3)
    explainer = TextExplainer(
        wrap_model(planted_model, mode="classification"), num_samples=800, batch_size=300
    )
    fast = explainer.explain(document, seed=5, labels=[1]).to_dict()
    with monkeypatch.context() as m:
        m.setattr(
            TextSampler,
            "draw",
            lambda self, n, rng: reference_draw(self.tokenized.n_features, n, rng),
        )
        m.setattr(TextSampler, "texts", lambda self, keep: naive_texts(self.tokenized, keep))
        m.setattr(
            text_explainer,
            "binary_cosine_distances_to_first",
            lambda keep: cosine_distances_to_first(np.asarray(keep, dtype=float)),
        )
        plain = explainer.explain(document, seed=5, labels=[1]).to_dict()
    assert fast == plain
    assert fast["data"]["num_interpretable_features"] == 600
    top = [(f["feature"], f["weight"] > 0) for f in fast["labels"][0]["features"][:2]]
    assert top == [("w1", True), ("w2", False)]


def test_wide_path_at_many_words_gives_the_narrow_paths_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """600 words, ten kept: two planted words and eight of the silent ones, whose weights
    are noise of about the same size, so the replicates' top sets differ from each other
    by small margins (mean Jaccard 0.18 with the explanation's). The wide path (conjugate gradients stopped when each replicate's set
    is decided) reports what the narrow path (every replicate solved exactly) reports."""
    import limecli.explainers.wide as wide

    document = many_words(length=1500, distinct=600, seed=4)
    explainer = TextExplainer(
        wrap_model(planted_model, mode="classification"), num_samples=2400, num_features=10
    )
    fast = explainer.explain(document, seed=6, labels=[1]).to_dict()["labels"][0]
    monkeypatch.setattr(wide, "use_wide", lambda *args: False)
    exact = explainer.explain(document, seed=6, labels=[1]).to_dict()["labels"][0]
    assert [f["feature"] for f in fast["features"]] == [f["feature"] for f in exact["features"]]
    for mine, theirs in zip(fast["features"], exact["features"], strict=True):
        assert mine["weight"] == pytest.approx(theirs["weight"], rel=1e-9, abs=1e-12)
        # with the spread the replicates' other selections add (their own weights)
        assert mine["std_error"] == pytest.approx(theirs["std_error"], rel=1e-9, abs=1e-15)
    assert exact["stability"]["top_k_change_probability"] > 0  # the sets do differ
    for key in ("top_k_change_probability", "top_m_same", "settled_top", "candidates"):
        assert fast["stability"][key] == exact["stability"][key]
    assert fast["stability"]["top_k_mean_jaccard"] == pytest.approx(
        exact["stability"]["top_k_mean_jaccard"], rel=1e-12
    )

"""Tokenisation of any script and the vectorised building of perturbed texts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limecli import ParameterError
from limecli.sampling.text import TextSampler, token_spans, tokenize


def words(text: str, **kw: object) -> list[str]:
    return [text[s:e] for s, e in token_spans(text, **kw).tolist()]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("이 영화 정말 재미있어요!", ["이", "영화", "정말", "재미있어요"]),
        ("Café naïve, déjà-vu", ["Café", "naïve", "déjà", "vu"]),
        ("Привет, мир! Ёлка", ["Привет", "мир", "Ёлка"]),
        ("GPU가 2배 faster라고?", ["GPU가", "2배", "faster라고"]),
        # Devanagari vowel signs are combining marks, not word characters, for Python's \w.
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),
        # Decomposed accents (e + U+0301) stay in their word.
        ("cafe\u0301 ole\u0301", ["cafe\u0301", "ole\u0301"]),
        ("  ...  ", []),
        ("", []),
    ],
)
def test_default_tokeniser_keeps_whole_words_in_any_script(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_char_level_makes_each_character_a_feature_and_skips_punctuation() -> None:
    assert words("这部电影很好看。", char_level=True) == ["这", "部", "电", "影", "很", "好", "看"]
    # Without --char-level an unsegmented clause is a single "word".
    assert words("这部电影很好看。") == ["这部电影很好看"]
    assert words("कि", char_level=True) == ["कि"]  # the vowel sign stays with its consonant


def test_split_expression_names_the_separators() -> None:
    assert words("a b|c d||e", split_expression=r"\|+") == ["a b", "c d", "e"]
    assert words("x,y", split_expression=r"\s+") == ["x,y"]
    with pytest.raises(ParameterError, match="not a valid regular expression"):
        tokenize("x", split_expression="(")
    with pytest.raises(ParameterError, match="cannot be used together"):
        tokenize("x", split_expression=" ", char_level=True)


def test_bag_of_words_groups_occurrences_and_positions_point_at_them() -> None:
    text = "good plot, good acting, bad end"
    bow = tokenize(text)
    assert bow.feature_names == ["good", "plot", "acting", "bad", "end"]
    assert bow.positions(0) == [[0, 4], [11, 15]]
    positional = tokenize(text, bow=False)
    assert positional.feature_names == ["good", "plot", "good", "acting", "bad", "end"]
    assert positional.positions(2) == [[11, 15]]


def naive_text(text: str, spans: list[list[int]], kept: list[bool], mask: str | None) -> str:
    """A straightforward reconstruction to check the vectorised one against."""
    out, cursor = [], 0
    for (start, end), on in zip(spans, kept, strict=True):
        out.append(text[cursor:start])
        out.append(text[start:end] if on else (mask or ""))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from([*"ab 가나,.\n\t", "é", "\u0301", "😀", "ß"]), max_size=40
    ),
    bow=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_vectorised_texts_equal_a_naive_rebuild(text: str, bow: bool, seed: int) -> None:
    tokenized = tokenize(text, bow=bow)
    if tokenized.n_features == 0:
        return
    sampler = TextSampler(tokenized, mask_token="<M>")
    keep = sampler.draw(12, np.random.default_rng(seed))
    built = sampler.texts(keep)
    spans = tokenized.spans.tolist()
    for row, got in zip(keep, built, strict=True):
        kept = [bool(row[f]) for f in tokenized.feature_of_token]
        assert got == naive_text(text, spans, kept, None if bow else "<M>")
    assert built[0] == text


def test_draw_removes_between_one_and_d_minus_one_features() -> None:
    tokenized = tokenize("one two three four five six")
    sampler = TextSampler(tokenized)
    keep = sampler.draw(3000, np.random.default_rng(0))
    assert keep.shape == (3000, 6)
    assert keep[0].all()
    removed = (~keep[1:]).sum(axis=1)
    assert removed.min() == 1 and removed.max() == 5
    # Each count 1..5 is drawn about equally often (uniform, as in LIME).
    counts = np.bincount(removed, minlength=6)[1:]
    assert counts.min() > 0.8 * counts.mean()
    # Every feature is removed in about half the rows.
    assert np.allclose((~keep[1:]).mean(axis=0), 0.5, atol=0.05)


def test_draw_of_a_one_word_text_removes_that_word() -> None:
    sampler = TextSampler(tokenize("hello!"))
    keep = sampler.draw(4, np.random.default_rng(0))
    assert keep[:, 0].tolist() == [True, False, False, False]
    assert sampler.texts(keep) == ["hello!", "!", "!", "!"]


def test_texts_keep_separators_and_mask_positions() -> None:
    tokenized = tokenize("a  b, a c", bow=False)
    sampler = TextSampler(tokenized, mask_token="UNK")
    keep = np.array([[True, False, True, False], [False, True, True, True]])
    assert sampler.texts(keep) == ["a  UNK, a UNK", "UNK  b, a c"]
    bow = TextSampler(tokenize("a  b, a c"))
    assert bow.texts(np.array([[False, True, True]])) == ["  b,  c"]

"""The text explainer's speed-ups leave every result as it was.

Each optimisation is checked against a plain reference written here: the
perturbed texts against a loop that drops switched-off words from the token
list and joins; the mask drawing against argsort-and-scatter; the distances
against the shared float formula; and a whole explanation against one made
with all three references swapped in.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

import limecli.explainers.text as text_explainer
import limecli.sampling.text as text_sampling
from limecli import TextExplainer, wrap_model
from limecli.explainers.text import binary_cosine_distances_to_first
from limecli.sampling.text import (
    DEFAULT_MASK_TOKEN,
    TextSampler,
    TokenizedText,
    removal_keep,
    tokenize,
)
from limecli.surrogate import cosine_distances_to_first

# --- references -----------------------------------------------------------------------------


def naive_texts(tokenized: TokenizedText, keep: np.ndarray, mask_token: str | None) -> list[str]:
    """One sample at a time: walk the tokens, drop (or mask) the switched-off ones, join.

    Bag of words: a switched-off feature is a word string, and every token with
    that string goes. Otherwise feature i is token i, replaced by the mask
    (an empty mask means the default one). Separators are always kept.
    """
    text = tokenized.text
    spans = tokenized.spans.tolist()
    tokens = [text[s:e] for s, e in spans]
    mask = None if tokenized.bow else (mask_token or DEFAULT_MASK_TOKEN)
    out = []
    for row in np.asarray(keep, dtype=bool).tolist():
        if tokenized.bow:
            removed = {tokenized.feature_names[j] for j, on in enumerate(row) if not on}
            kept = [tok not in removed for tok in tokens]
        else:
            kept = row
        pieces, cursor = [], 0
        for (start, end), tok, on in zip(spans, tokens, kept, strict=True):
            pieces.append(text[cursor:start])
            if on:
                pieces.append(tok)
            elif mask is not None:
                pieces.append(mask)
            cursor = end
        pieces.append(text[cursor:])
        out.append("".join(pieces))
    return out


def reference_draw(d: int, num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """The drawing as first written: argsort a row of uniforms, remove its first k places."""
    keep = np.ones((num_samples, d), dtype=bool)
    high = max(d - 1, 1)
    for start in range(1, num_samples, 1024):
        stop = min(start + 1024, num_samples)
        n = stop - start
        k = rng.integers(1, high + 1, size=n)
        order = np.argsort(rng.random((n, d)), axis=1)
        np.put_along_axis(keep[start:stop], order, np.arange(d)[None, :] >= k[:, None], axis=1)
    return keep


def reference_removal(random: np.ndarray, k: np.ndarray) -> np.ndarray:
    n, d = random.shape
    keep = np.ones((n, d), dtype=bool)
    order = np.argsort(random, axis=1)
    np.put_along_axis(keep, order, np.arange(d)[None, :] >= k[:, None], axis=1)
    return keep


# --- perturbed texts ------------------------------------------------------------------------

TEXTS = {
    "ascii": "the plot was good, the acting good; the end was bad!! The END",
    "latin1": "Café crème, déjà vu; naïve façade. Café ß!",
    "bmp": "이 영화 정말 재미있어요 — 정말 최고예요, 영화 good",
    "astral": "so 😀 fun😀 yes 😀😀 no 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 fun",
    "combining": "cafe\u0301 na\u0308ive zero\u200dwidth \u0915\u094d\u0937 cafe\u0301",
    "lone_surrogate": "bad \udcff bytes \udcff here bytes",
    "one_word": "hello",
    "edges": "  ...word...  ",
    "no_words": "  ... !! ",
    "cjk": "我们今天去公园散步，天气非常好。公园",
}


def cases() -> list[tuple[str, dict[str, object]]]:
    modes: list[dict[str, object]] = [
        {"bow": True},
        {"bow": False},
        {"bow": True, "char_level": True},
        {"bow": False, "char_level": True},
        {"bow": True, "split_expression": r"[\s,;.]+"},
        {"bow": False, "split_expression": r"\s+"},
    ]
    return [(name, mode) for name in TEXTS for mode in modes]


@pytest.mark.parametrize("mask_token", [None, "", "<M>", "😀!", "é"])
@pytest.mark.parametrize(("name", "mode"), cases())
def test_vectorised_texts_equal_the_naive_loop(
    name: str, mode: dict[str, object], mask_token: str | None
) -> None:
    tokenized = tokenize(TEXTS[name], **mode)  # type: ignore[arg-type]
    if mode["bow"] and mask_token not in (None, "<M>"):
        return  # no mask in bag-of-words mode: one mask is enough to show that
    sampler = TextSampler(tokenized, mask_token)
    rng = np.random.default_rng(len(name))
    keep = sampler.draw(40, rng)
    # Arbitrary rows as well as drawn ones: all off, all on, alternating, random.
    d = tokenized.n_features
    extra = np.array(
        [np.zeros(d, bool), np.ones(d, bool), np.arange(d) % 2 == 0, rng.random(d) < 0.5]
    ).reshape(4, d)
    keep = np.vstack([keep, extra])
    assert sampler.texts(keep) == naive_texts(tokenized, keep, mask_token)
    if d:
        assert sampler.texts(keep[:1]) == [TEXTS[name]]


@pytest.mark.parametrize("chars_per_step", [1, 37, 1 << 20])
@pytest.mark.parametrize("bow", [True, False])
def test_texts_do_not_depend_on_how_rows_are_split_into_steps(
    monkeypatch: pytest.MonkeyPatch, chars_per_step: int, bow: bool
) -> None:
    """The batch is written a block of rows at a time; the block size changes nothing."""
    monkeypatch.setattr(text_sampling, "_CHARS_PER_STEP", chars_per_step)
    tokenized = tokenize(TEXTS["bmp"] + " " + TEXTS["ascii"], bow=bow)
    sampler = TextSampler(tokenized)
    keep = sampler.draw(300, np.random.default_rng(1))
    expected = naive_texts(tokenized, keep, None)
    assert sampler.texts(keep) == expected
    # Several calls of different sizes on one sampler (its tiled template is reused).
    assert sampler.texts(keep[:3]) + sampler.texts(keep[3:]) == expected
    assert [t for i in range(0, 300, 7) for t in sampler.texts(keep[i : i + 7])] == expected


def test_text_without_words_gives_the_text_back() -> None:
    sampler = TextSampler(tokenize(TEXTS["no_words"]))
    keep = sampler.draw(3, np.random.default_rng(0))
    assert keep.shape == (3, 0)
    assert sampler.texts(keep) == [TEXTS["no_words"]] * 3
    assert sampler.texts(keep[:0]) == []


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("plain", "latin-1"),
        ("ÿé", "latin-1"),
        ("가—", "utf-16-le"),
        ("😀", "utf-32-le"),
        ("\udcff", "utf-32-le"),
        ("", "latin-1"),
    ],
)
def test_code_units_are_the_narrowest_exact_encoding(text: str, encoding: str) -> None:
    units, name = text_sampling._code_units(text)
    assert name == encoding
    assert units.shape[0] == len(text)
    assert str(units.data, name, "surrogatepass") == text


# --- drawing --------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [0, 1, 2, 3, 116, 700])
@pytest.mark.parametrize("num_samples", [1, 2, 1025, 2500])
def test_draw_equals_argsort_and_scatter(d: int, num_samples: int) -> None:
    sampler = TextSampler(tokenize(" ".join(f"w{i}" for i in range(d))))
    assert sampler.tokenized.n_features == d
    got = sampler.draw(num_samples, np.random.default_rng(d + num_samples))
    expected = reference_draw(d, num_samples, np.random.default_rng(d + num_samples))
    np.testing.assert_array_equal(got, expected)


def test_draw_is_pinned_for_seed_0() -> None:
    """The random stream itself must not move: seed 0 removes these words (as before the speed-ups)."""
    keep = TextSampler(tokenize("a b c d e f")).draw(5, np.random.default_rng(0))
    assert keep.astype(int).tolist() == [
        [1, 1, 1, 1, 1, 1],
        [0, 0, 0, 1, 0, 0],
        [0, 1, 0, 0, 1, 0],
        [1, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 1],
    ]


@pytest.mark.parametrize("d", [1, 2, 5, 40])
def test_removal_with_ties_at_the_cut_follows_the_argsort(d: int) -> None:
    """Equal uniforms (next to impossible from a real generator) take the argsort path."""
    rng = np.random.default_rng(d)
    random = rng.integers(0, 3, size=(500, d)) / 4.0  # three values: ties everywhere
    k = rng.integers(1, max(d - 1, 1) + 1, size=500)
    np.testing.assert_array_equal(removal_keep(random, k), reference_removal(random, k))
    np.testing.assert_array_equal((~removal_keep(random, k)).sum(axis=1), np.minimum(k, d))


# --- distances ------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 117])
def test_binary_cosine_distances_equal_the_float_formula_bit_for_bit(d: int) -> None:
    rng = np.random.default_rng(d)
    keep = rng.random((3000, d)) < 0.5
    keep[0] = True
    keep[1] = False  # an empty sample: distance 1
    for matrix in (keep, keep[::-1].copy(), np.zeros((4, d), bool)):
        got = binary_cosine_distances_to_first(matrix)
        expected = cosine_distances_to_first(matrix.astype(float))
        assert got.dtype == expected.dtype
        assert got.tobytes() == expected.tobytes()


# --- whole explanations ---------------------------------------------------------------------

WORDS = [
    *("river", "stone", "cloud", "paper", "window", "garden"),
    *("lamp", "table", "chair", "music", "road", "bridge"),
]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    """TF-IDF + logistic regression where only 'excellent', 'awful' and '좋아요' carry signal."""
    rng = np.random.default_rng(0)
    docs, labels = [], []
    for i in range(300):
        label = i % 3
        words = list(rng.choice(WORDS, size=8))
        words.append(["excellent", "awful", "좋아요"][label])
        rng.shuffle(words)
        docs.append(" ".join(words))
        labels.append(["pos", "neg", "kor"][label])
    return make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=500)).fit(docs, labels)


DOCUMENT = (
    "The river was excellent, the stone bridge awful. Excellent music, 좋아요 좋아요! "
    "A paper lamp by the window; the garden road — excellent."
)


def reference_explanation(
    monkeypatch: pytest.MonkeyPatch, explainer: TextExplainer, **kw: object
) -> dict[str, object]:
    """The explanation with the plain references in place of the fast paths."""
    with monkeypatch.context() as m:
        m.setattr(
            TextSampler,
            "draw",
            lambda self, n, rng: reference_draw(self.tokenized.n_features, n, rng),
        )
        m.setattr(
            TextSampler,
            "texts",
            lambda self, keep: naive_texts(self.tokenized, keep, self.mask_token),
        )
        m.setattr(
            text_explainer,
            "binary_cosine_distances_to_first",
            lambda keep: cosine_distances_to_first(np.asarray(keep, dtype=float)),
        )
        return explainer.explain(DOCUMENT, **kw).to_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "explain_kw"),
    [
        ({}, {"num_features": 4}),
        ({}, {"num_features": 8, "top_labels": 2}),
        ({"bow": False, "mask_token": "<gone>"}, {"num_features": 5}),
        ({"char_level": True}, {"num_features": 7}),
        ({"split_expression": r"[\s,.;!]+", "batch_size": 97}, {"num_features": 3}),
    ],
)
def test_explanation_equals_one_built_with_the_plain_references(
    monkeypatch: pytest.MonkeyPatch,
    pipeline: Pipeline,
    options: dict[str, object],
    explain_kw: dict[str, object],
) -> None:
    explainer = TextExplainer(wrap_model(pipeline), num_samples=600, **options)  # type: ignore[arg-type]
    fast = explainer.explain(DOCUMENT, seed=3, **explain_kw).to_dict()  # type: ignore[arg-type]
    plain = reference_explanation(monkeypatch, explainer, seed=3, **explain_kw)
    assert fast == plain
    top = {f["feature"].lower() for f in fast["labels"][0]["features"][:2]}
    if not options:
        assert top & {"excellent", "awful", "좋아요"}  # the planted words lead


def test_positions_found_once_are_not_shared_between_labels(pipeline: Pipeline) -> None:
    """Each word's positions are looked up once per explanation; every record gets its own copy."""
    exp = TextExplainer(wrap_model(pipeline), num_samples=300).explain(
        DOCUMENT, seed=0, top_labels=3, num_features=30
    )
    records = [f for label in exp.labels for f in label.features if f.feature == "excellent"]
    assert len(records) == 3
    records[0].extra["positions"][0][0] = -1
    assert records[1].extra["positions"] == records[2].extra["positions"]
    assert records[1].extra["positions"][0][0] == DOCUMENT.index("excellent")

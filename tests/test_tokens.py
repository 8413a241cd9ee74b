"""Emoji and emoticons are tokens of their own in the default text tokeniser.

Ground truth: a sentiment model whose only cues are emoji and emoticons
(``:)`` and ``😀`` raise the positive class, ``:(`` lowers it) is explained
with exactly those cues on top, with the right signs, at the right character
offsets, highlighted in the terminal and HTML views; through the API and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from limecli import TextExplainer
from limecli.render import render
from limecli.sampling.text import token_spans, tokenize
from limecli.sampling.tokens import PICTOGRAPHIC_RANGES


def words(text: str, **kw: object) -> list[str]:
    return [text[s:e] for s, e in token_spans(text, **kw).tolist()]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ZWJ sequences, skin tones, flags, keycaps, variation selectors, tag sequences
        ("a 👩\u200d💻 b", ["a", "👩\u200d💻", "b"]),
        ("👨\u200d👩\u200d👧 family", ["👨\u200d👩\u200d👧", "family"]),
        ("ok 👍🏽!", ["ok", "👍🏽"]),
        ("🇫🇷🇩🇪 vs", ["🇫🇷", "🇩🇪", "vs"]),
        ("1️⃣ #️⃣ *️⃣", ["1️⃣", "#️⃣", "*️⃣"]),
        ("21️⃣", ["2", "1️⃣"]),  # a keycap's digit is not part of the number before it
        ("❤️ ❤ ☺ ♥", ["❤️", "❤", "☺", "♥"]),
        ("🏳️\u200d🌈 🧑🏽\u200d🤝\u200d🧑🏻", ["🏳️\u200d🌈", "🧑🏽\u200d🤝\u200d🧑🏻"]),
        (
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f go",
            ["🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "go"],
        ),
        ("😀😀 wow😀", ["😀", "😀", "wow", "😀"]),  # adjacent emoji are separate tokens
        ("这部电影😀很好看", ["这部电影", "😀", "很好看"]),
        ("Acme™ ©2024", ["Acme", "™", "©", "2024"]),  # pictographic symbols in text too
    ],
)
def test_emoji_are_whole_tokens(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("great :) bad :( meh :/", ["great", ":)", "bad", ":(", "meh", ":/"]),
        (
            ":-) ;) ;-) :D :-D :P :p :O :'( >:( :| :* :3",
            [":-)", ";)", ";-)", ":D", ":-D", ":P", ":p", ":O", ":'(", ">:(", ":|", ":*", ":3"],
        ),
        (
            "<3 </3 <333 ^_^ ^^ -_- >_< (: (-:",
            ["<3", "</3", "<333", "^_^", "^^", "-_-", ">_<", "(:", "(-:"],
        ),
        (
            "(fun :P) ok!:) lol :)) thanks:)",
            ["fun", ":P", "ok", ":)", "lol", ":))", "thanks", ":)"],
        ),
        ("好看:)真的", ["好看", ":)", "真的"]),  # scripts without spaces may touch them
        ("XD xD T_T o_O", ["XD", "xD", "T_T", "o_O"]),  # word characters: words already
    ],
)
def test_emoticons_are_tokens(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see http://x.org or file:///tmp", ["see", "http", "x", "org", "or", "file", "tmp"]),
        ("at 10:30, 2:3 or 1:D", ["at", "10", "30", "2", "3", "or", "1", "D"]),
        (r"C:\dir C:\\x", ["C", "dir", "C", "x"]),
        (":Price :Dario :of", ["Price", "Dario", "of"]),
        ("x<3 <30 a<3b", ["x", "3", "30", "a", "3b"]),
        ("(see above): next", ["see", "above", "next"]),
        ("f(x)=(a+b)", ["f", "x", "a", "b"]),
    ],
)
def test_what_is_not_an_emoticon(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_words_of_any_script_and_char_level_are_unchanged_beside_them() -> None:
    assert words("Café naïve, déjà-vu नमस्ते") == ["Café", "naïve", "déjà", "vu", "नमस्ते"]
    assert words("cafe\u0301:) ole\u0301") == ["cafe\u0301", ":)", "ole\u0301"]
    assert words("电影😀好 :)", char_level=True) == ["电", "影", "😀", "好", ":)"]
    # A user's split_expression is taken as given: emoji are whatever it makes of them.
    assert words("a :) b", split_expression=r"\s+") == ["a", ":)", "b"]


def test_positions_are_character_offsets_of_the_emoji() -> None:
    text = "I 👩\u200d💻 :) and 🇫🇷 :)"
    tok = tokenize(text)
    assert tok.feature_names == ["I", "👩\u200d💻", ":)", "and", "🇫🇷"]
    for j, name in enumerate(tok.feature_names):
        assert all(text[s:e] == name for s, e in tok.positions(j))
    assert tok.positions(2) == [[6, 8], [16, 18]]  # code points: the ZWJ sequence is 3


def test_pictographic_table_matches_unicode_data() -> None:
    regex = pytest.importorskip("regex")
    ours = {c for a, b in PICTOGRAPHIC_RANGES for c in range(a, b + 1)}
    prop = regex.compile(r"\p{Extended_Pictographic}")
    theirs = {c for c in range(0x110000) if prop.match(chr(c))}
    assert ours == theirs


# -- ground truth: a model that reads only emoji and emoticons -----------------------

POSITIVE = (":)", "😀")
NEGATIVE = (":(",)
TEXT = "The plot was long :) and the acting 😀 fine, but the ending :( was slow"


def emoji_sentiment(texts: list[str]) -> np.ndarray:
    """P(positive) from the cues only: +1.5 per :) or 😀, -2 per :(, nothing else counts."""
    score = np.array(
        [
            1.5 * sum(t.count(c) for c in POSITIVE) - 2.0 * sum(t.count(c) for c in NEGATIVE)
            for t in texts
        ]
    )
    p = 1.0 / (1.0 + np.exp(-score))
    return np.column_stack([1.0 - p, p])


def _check_cues(features: list[dict], text: str) -> None:
    top = {f["feature"]: f for f in features[:3]}
    assert set(top) == {":)", "😀", ":("}
    assert top[":)"]["weight"] > 0 and top["😀"]["weight"] > 0 and top[":("]["weight"] < 0
    strongest_word = max((abs(f["weight"]) for f in features[3:]), default=0.0)
    assert strongest_word < 0.1 * min(abs(f["weight"]) for f in top.values())
    for f in features:
        assert all(text[s:e] == f["feature"] for s, e in f["positions"])
    assert top["😀"]["positions"] == [[TEXT.index("😀"), TEXT.index("😀") + 1]]


def test_emoji_model_explained_by_its_cues_through_the_api() -> None:
    explainer = TextExplainer(emoji_sentiment, class_names=["neg", "pos"], num_features=6)
    explanation = explainer.explain(TEXT, labels=[1], seed=0, num_samples=2000)
    doc = explanation.to_dict()
    _check_cues(doc["labels"][0]["features"], doc["data"]["text"])
    table = render([explanation], "table", color=False, width=100)
    assert "[+:)]" in table and "[+😀]" in table and "[-:(]" in table
    html = render([explanation], "html")
    assert '<mark class="support"' in html and '<mark class="oppose"' in html
    assert "😀</mark>" in html and ":(</mark>" in html


def test_emoji_model_explained_by_its_cues_through_the_cli(run_cli, tmp_path: Path) -> None:
    script = tmp_path / "cues.py"
    script.write_text(
        "import numpy as np\n"
        "def predict(texts):\n"
        "    s = np.array([1.5 * (t.count(':)') + t.count('😀')) - 2.0 * t.count(':(') for t in texts])\n"
        "    p = 1 / (1 + np.exp(-s))\n"
        "    return np.column_stack([1 - p, p])\n",
        encoding="utf-8",
    )
    review = tmp_path / "review.txt"
    review.write_text(TEXT, encoding="utf-8")
    result = run_cli(
        "text",
        f"{script}:predict",
        review,
        "--label",
        "1",
        "--num-samples",
        "2000",
        "--num-features",
        "6",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    _check_cues(doc["labels"][0]["features"], doc["data"]["text"])

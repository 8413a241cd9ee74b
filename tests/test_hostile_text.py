"""Hostile text input: every case a one-line error with its exit code, or a documented note."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_MODELS
from hostile import Case, check, params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from limecli.errors import InputDataError
from limecli.inputs.text import cap_text, decode_bytes, read_texts

NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
FAST = ("--num-samples", "60", "--num-features", "3")


def file(content: bytes, name: str = "input.txt", *args: Any) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        path = tmp / name
        path.write_bytes(content)
        return (path, *args)

    return make


def big_text(tmp: Path) -> tuple[Any, ...]:
    """A few MB of words drawn from a large vocabulary: cut to the caps, with a note."""
    rng = random.Random(0)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(5000)]
    path = tmp / "big.txt"
    path.write_text(" ".join(rng.choice(vocabulary) for _ in range(400_000)), encoding="utf-8")
    return (path,)


CASES = [
    Case(
        "invalid UTF-8", file(b"caf\xe9 au lait"), 3, "not valid utf-8 text (byte 0xe9 at offset 3)"
    ),
    Case("binary file", file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"), 3, "looks like a binary"),
    Case("NUL byte in text", file(b"hello\x00world"), 3, "looks like a binary file"),
    Case("empty file", file(b""), 3, "has no words to explain"),
    Case("only punctuation", file(b"  \n\t ?! -- "), 3, "has no words to explain"),
    Case("missing file", lambda tmp: (tmp / "nope.txt",), 3, "text file not found"),
    Case("huge text", big_text, 0, "--max-chars, --max-words"),
    Case("invalid UTF-8 on stdin", lambda tmp: ("-",), 3, "<stdin> is not valid utf-8"),
    Case(
        "table without the column",
        file(b"id,body\n1,hello\n", "t.csv", "--column", "text", "--row", "0"),
        3,
        "has no column 'text'",
    ),
    Case(
        "JSONL line that is not JSON",
        file(b'{"text": "fine"}\n{"text": broken\n', "t.jsonl", "--column", "text", "--row", "0"),
        3,
        "line 2 is not valid JSON",
    ),
    Case(
        "JSONL field that is not a string",
        file(b'{"text": 42}\n', "t.jsonl", "--column", "text", "--row", "0"),
        3,
        "field 'text' is int, not a string",
    ),
]
_STDIN = {"invalid UTF-8 on stdin": b"ok \xc3\x28 bad"}


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_text(run_cli, tmp_path: Path, case: Case) -> None:
    output = tmp_path / "out.json"
    args = case.make(tmp_path)
    result = run_cli("text", NEWS, *args, *FAST, "-o", output, input=_STDIN.get(case.id))
    check(result, case, output)
    if case.code == 0:
        explained = json.loads(output.read_text(encoding="utf-8"))["data"]
        assert explained["num_interpretable_features"] <= 2000
        assert len(explained["text"]) <= 100_000


def test_caps_are_options(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("one two three four five six one two", encoding="utf-8")
    result = run_cli("text", NEWS, path, *FAST, "--max-words", "3")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["data"]["text"] == "one two three"
    assert "only the first 13 are explained" in result.stderr


# -- property-based ---------------------------------------------------------------------------
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_fuzz_any_bytes_decode_or_are_an_input_error(raw: bytes) -> None:
    try:
        text = decode_bytes(raw, "fuzz.txt")
    except InputDataError as e:
        assert "fuzz.txt" in str(e)
        return
    assert isinstance(text, str)


@FUZZ
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_fuzz_utf8_text_reads_back_unchanged(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_bytes(text.encode("utf-8"))
    if "\x00" in text:
        with pytest.raises(InputDataError, match="binary"):
            read_texts([path])
        return
    (item,) = read_texts([path])
    assert item.text == (text[1:] if text.startswith("\ufeff") else text)


@FUZZ
@given(
    text=st.text(alphabet="ab cd\n.é", max_size=300),
    max_chars=st.integers(1, 120),
    max_words=st.integers(1, 12),
)
def test_fuzz_cap_text_is_a_prefix_within_both_caps(
    text: str, max_chars: int, max_words: int
) -> None:
    cut, was_cut = cap_text(text, max_chars, max_words)
    assert text.startswith(cut)
    assert was_cut == (cut != text)
    assert len(cut) <= max_chars
    assert len(set(re.findall(r"\w+", cut))) <= max_words

"""``limecli text`` end to end: sample models, any script, inputs, errors, determinism."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import Result
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS

Run = Callable[..., Result]

SCHEMA = json.loads((ROOT / "limecli/schema/explanation.schema.json").read_text())
NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
KOREAN = SAMPLE_MODELS / "text_korean_sentiment.joblib"
LEAK = SAMPLE_DATA / "text" / "leak_post.txt"
KOREAN_REVIEW = SAMPLE_DATA / "text" / "korean_review.txt"
FAST = ("--num-samples", "600")

KEYWORD_SCRIPT = """
import numpy as np

CLASS_NAMES = ["negative", "positive"]
POSITIVE = {positive!r}
NEGATIVE = {negative!r}


def predict(texts):
    p = [0.5 + 0.4 * any(w in t for w in POSITIVE) - 0.3 * any(w in t for w in NEGATIVE)
         for t in texts]
    return np.c_[1 - np.array(p), np.array(p)]
"""


def keyword_script(tmp_path: Path, positive: list[str], negative: list[str]) -> str:
    path = tmp_path / "keywords.py"
    path.write_text(KEYWORD_SCRIPT.format(positive=positive, negative=negative), encoding="utf-8")
    return f"{path}:predict"


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    for item in data if isinstance(data, list) else [data]:
        jsonschema.validate(item, SCHEMA)
    return data


def check_positions(exp: dict[str, Any]) -> None:
    text = exp["data"]["text"]
    for label in exp["labels"]:
        for feat in label["features"]:
            assert feat["value"] == len(feat["positions"])
            for start, end in feat["positions"]:
                assert text[start:end] == feat["feature"]


def test_the_leak_example_exposes_the_posting_header(run_cli: Run) -> None:
    exp = ok_json(run_cli("text", NEWS, LEAK, "--format", "json", *FAST))
    # The post is about medicine, yet the model says space...
    assert exp["prediction"]["label"] == "space"
    features = exp["labels"][0]["features"]
    top3 = {f["feature"] for f in features[:3]}
    # ... because of the header words, which the explanation puts first.
    assert top3 == {"Posting", "Host", "NNTP"}
    assert all(f["weight"] > 0 for f in features[:3])
    medical = {
        f["feature"]: f["weight"] for f in features if f["feature"] in {"doctor", "infection"}
    }
    assert medical and all(w < 0 for w in medical.values())
    check_positions(exp)
    assert exp["input"] == {"source": str(LEAK), "index": None}


def test_table_shows_ranked_words_and_the_marked_text(run_cli: Run) -> None:
    result = run_cli("text", NEWS, LEAK, "--format", "table", *FAST)
    assert result.exit_code == 0
    out = result.stdout
    assert "Prediction: space" in out
    assert "Posting" in out.split("Text (")[0]  # in the ranked table
    assert "[+NNTP]-[+Posting]-[+Host]" in out
    assert "[-doctor]" in out
    assert result.stderr == ""


def test_korean_sample_model_end_to_end(run_cli: Run) -> None:
    exp = ok_json(run_cli("text", KOREAN, KOREAN_REVIEW, *FAST))
    assert exp["prediction"]["label"] == "positive"
    text = exp["data"]["text"]
    words = {f["feature"]: f["weight"] for f in exp["labels"][0]["features"]}
    assert set(words) == {"이", "영화", "정말", "재미있어요", "다만", "중간에", "조금", "지루해요"}
    assert words["재미있어요"] > 0 > words["지루해요"]
    check_positions(exp)
    table = run_cli("text", KOREAN, KOREAN_REVIEW, "--format", "table", *FAST).stdout
    assert "재미있어요" in table.split("Text (")[0]
    assert "[+재미있어요]" in table and "[-지루해요]" in table
    assert text.strip() in table.replace("[+", "").replace("[-", "").replace("]", "")


def test_korean_ground_truth_through_a_predict_script(run_cli: Run, tmp_path: Path) -> None:
    model = keyword_script(tmp_path, ["재미있어요"], ["지루해요"])
    review = tmp_path / "review.txt"
    review.write_text(
        "주말에 극장에서 봤어요. 배우들은 괜찮았고 음악도 좋았는데 정말 재미있어요. "
        "중간은 조금 지루해요.",
        encoding="utf-8",
    )
    exp = ok_json(run_cli("text", model, review, "--num-features", "2", *FAST))
    assert {f["feature"] for f in exp["labels"][0]["features"]} == {"재미있어요", "지루해요"}
    check_positions(exp)


def test_chinese_needs_and_gets_char_level(run_cli: Run, tmp_path: Path) -> None:
    model = keyword_script(tmp_path, ["好"], ["差"])
    review = tmp_path / "review.txt"
    review.write_text("这部电影非常好看，但是结局很差。", encoding="utf-8")
    exp = ok_json(run_cli("text", model, review, "--char-level", "--num-features", "2", *FAST))
    features = exp["labels"][0]["features"]
    assert {f["feature"] for f in features} == {"好", "差"}
    weights = {f["feature"]: f["weight"] for f in features}
    assert weights["好"] > 0 > weights["差"]
    assert exp["params"]["char_level"] is True
    check_positions(exp)
    table = run_cli("text", model, review, "--char-level", "--format", "table", *FAST).stdout
    assert "[+好]" in table and "[-差]" in table
    # Word-level, each clause is one feature: the explanation cannot single out the characters.
    words = ok_json(run_cli("text", model, review, *FAST))
    assert {f["feature"] for f in words["labels"][0]["features"]} == {
        "这部电影非常好看",
        "但是结局很差",
    }


def test_no_bow_gives_one_feature_per_position(run_cli: Run, tmp_path: Path) -> None:
    model = keyword_script(tmp_path, ["great"], ["dull"])
    review = tmp_path / "review.txt"
    review.write_text("great cast, great music, dull plot", encoding="utf-8")
    exp = ok_json(run_cli("text", model, review, "--no-bow", "--mask-token", "[MASK]", *FAST))
    features = exp["labels"][0]["features"]
    greats = [f for f in features if f["feature"] == "great"]
    assert sorted(f["positions"] for f in greats) == [[[0, 5]], [[12, 17]]]
    assert sorted(f["name"] for f in greats) == ["great@0", "great@12"]
    assert exp["params"]["bow"] is False and exp["params"]["mask_token"] == "[MASK]"
    check_positions(exp)


def test_regression_through_the_cli(run_cli: Run, tmp_path: Path) -> None:
    script = tmp_path / "length.py"
    script.write_text(
        "import numpy as np\nMODE = 'regression'\n\n"
        "def predict(texts):\n    return np.array([3.0 * t.count('storm') for t in texts])\n",
        encoding="utf-8",
    )
    review = tmp_path / "weather.txt"
    review.write_text("storm warning: a storm is coming tonight", encoding="utf-8")
    exp = ok_json(run_cli("text", f"{script}:predict", review, "--num-features", "1", *FAST))
    assert exp["mode"] == "regression" and exp["prediction"] == {"value": 6.0}
    (feat,) = exp["labels"][0]["features"]
    assert feat["feature"] == "storm" and feat["value"] == 2
    assert feat["weight"] == pytest.approx(6.0, abs=0.5)


def test_several_inputs_stdin_and_a_bom(run_cli: Run, tmp_path: Path) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffNNTP-Posting-Host: x\n\nThe doctor said so.".encode())
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("Posting about the shuttle launch".encode("utf-16"))
    result = run_cli("text", NEWS, bom, "-", utf16, *FAST, input="the shuttle reached orbit")
    data = ok_json(result)
    assert [d["input"]["source"] for d in data] == [str(bom), "<stdin>", str(utf16)]
    assert data[0]["data"]["text"].startswith("NNTP")
    assert data[1]["data"]["text"] == "the shuttle reached orbit"
    assert data[2]["data"]["text"] == "Posting about the shuttle launch"
    for exp in data:
        check_positions(exp)
    assert "Note: explaining 3 texts" in result.stderr
    quiet = run_cli("text", NEWS, bom, "-", utf16, *FAST, "-q", input="the shuttle reached orbit")
    assert quiet.stderr == "" and quiet.stdout == result.stdout


def test_a_csv_or_jsonl_column_explains_rows(run_cli: Run, tmp_path: Path) -> None:
    data = ok_json(
        run_cli(
            "text",
            NEWS,
            SAMPLE_DATA / "text" / "newsgroups_test.csv",
            "--column",
            "text",
            "--row",
            "3",
            "--row",
            "0",
            *FAST,
            "--num-samples",
            "200",
        )
    )
    assert [d["input"]["index"] for d in data] == [3, 0]
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text(
        json.dumps({"body": "The launch of the rocket"})
        + "\n\n"
        + json.dumps({"body": "Ask your doctor"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    rows = ok_json(run_cli("text", NEWS, jsonl, "--column", "body", "--format", "json", *FAST))
    assert [r["data"]["text"] for r in rows] == ["The launch of the rocket", "Ask your doctor"]
    assert [r["input"]["index"] for r in rows] == [0, 1]


def test_other_encodings(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "cp949.txt"
    path.write_bytes("정말 재미있어요".encode("cp949"))
    exp = ok_json(run_cli("text", KOREAN, path, "--encoding", "cp949", *FAST))
    assert {f["feature"] for f in exp["labels"][0]["features"]} == {"정말", "재미있어요"}
    result = run_cli("text", KOREAN, path, *FAST)
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "not valid utf-8 text" in result.stderr and "--encoding" in result.stderr
    assert result.stdout == ""


def error_of(result: Result, code: int) -> str:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    line: str = result.stderr.strip().splitlines()[-1]
    return line


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"", 3, "has no words to explain"),
        (b"  \n\t ?! ", 3, "has no words to explain"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", 3, "looks like a binary file"),
        (b"caf\xe9 au lait", 3, "not valid utf-8 text (byte 0xe9 at offset 3)"),
    ],
)
def test_unusable_texts_are_one_line_errors(
    run_cli: Run, tmp_path: Path, content: bytes, code: int, message: str
) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    assert message in error_of(run_cli("text", NEWS, path, *FAST), code)


def test_option_errors(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("some words", encoding="utf-8")
    assert "unknown encoding 'klingon'" in error_of(
        run_cli("text", NEWS, path, "--encoding", "klingon"), 2
    )
    assert "not a valid regular expression" in error_of(
        run_cli("text", NEWS, path, "--split-expression", "("), 2
    )
    assert "not both" in error_of(
        run_cli("text", NEWS, path, "--char-level", "--split-expression", " "), 2
    )
    assert "--row needs --column" in error_of(run_cli("text", NEWS, path, "--row", "1"), 2)
    assert "has no column 'body'" in error_of(
        run_cli("text", NEWS, SAMPLE_DATA / "text" / "newsgroups_test.csv", "--column", "body"), 3
    )
    assert "row 900 is out of range" in error_of(
        run_cli(
            "text",
            NEWS,
            SAMPLE_DATA / "text" / "newsgroups_test.csv",
            "--column",
            "text",
            "--row",
            "900",
        ),
        3,
    )
    assert "stdin (-) can be read only once" in error_of(run_cli("text", NEWS, "-", "-"), 2)


def test_a_one_word_text_is_explained_with_a_note(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text("Posting\n", encoding="utf-8")
    result = run_cli("text", NEWS, path, "--num-samples", "50")
    exp = ok_json(result)
    (feat,) = exp["labels"][0]["features"]
    assert feat["feature"] == "Posting" and feat["weight"] > 0
    assert "single word" in result.stderr


@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_same_seed_gives_identical_bytes(run_cli: Run, fmt: str) -> None:
    args = ("text", KOREAN, KOREAN_REVIEW, "--format", fmt, "--seed", "5", *FAST)
    first, second = run_cli(*args), run_cli(*args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    other = run_cli("text", KOREAN, KOREAN_REVIEW, "--format", fmt, "--seed", "6", *FAST)
    assert other.stdout != first.stdout


def test_split_expression_and_batch_size(run_cli: Run, tmp_path: Path) -> None:
    model = keyword_script(tmp_path, ["great film"], [])
    path = tmp_path / "phrases.txt"
    path.write_text("great film; weak ending; long runtime", encoding="utf-8")
    exp = ok_json(
        run_cli("text", model, path, "--split-expression", r";\s*", "--batch-size", "7", *FAST)
    )
    features = exp["labels"][0]["features"]
    assert features[0]["feature"] == "great film"
    assert {f["feature"] for f in features} == {"great film", "weak ending", "long runtime"}
    assert exp["params"]["batch_size"] == 7

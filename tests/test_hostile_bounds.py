"""Hostile sizes: sample counts, images, streams and policies past what memory holds.

Every case ends with one ``Error:`` line, its exit code, and nothing allocated
first: the memory estimate (samples x features, plus the model's input) is
checked against the cap, reads of DATA, texts and policies are bounded, and a
device (``/dev/zero``) is refused before it is read.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from hostile import Case, check, params

from limecli.errors import ParameterError
from limecli.validation import MEMORY_LIMIT_ENV, check_sample_memory, memory_limit

CANCER = SAMPLE_MODELS / "breast_cancer_rf.joblib"
CANCER_TEST = SAMPLE_DATA / "breast_cancer_test.csv"
CANCER_TRAIN = SAMPLE_DATA / "breast_cancer_train.csv"
NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
SHAPES = SAMPLE_MODELS / "shapes_lr.joblib"
SHAPES_PNG = SAMPLE_DATA / "images" / "shapes.png"
LOANS = SAMPLE_MODELS / "loans_pipeline.joblib"
LOANS_TEST = SAMPLE_DATA / "loans_test.csv"
BILLION = ("--num-samples", "1000000000")
#: Over the 16 MiB line cap of CSV and JSON Lines tables.
LONG_LINE = 17 * 1024 * 1024


def tabular(*args: Any) -> Any:
    return lambda tmp: ("tabular", CANCER, CANCER_TEST, "--row", 1, "--train", CANCER_TRAIN, *args)


def text(*args: Any) -> Any:
    return lambda tmp: ("text", NEWS, SAMPLE_DATA / "text" / "leak_post.txt", *args)


def image(*args: Any) -> Any:
    return lambda tmp: ("image", SHAPES, SHAPES_PNG, *args)


def many_words(tmp: Path) -> tuple[Any, ...]:
    """A text of 300 distinct words: 20,000 samples of it need about 190 MiB."""
    path = tmp / "words.txt"
    path.write_text(" ".join(f"word{i}" for i in range(300)), encoding="utf-8")
    return ("text", NEWS, path, "--num-samples", 20_000)


def long_line(name: str, start: bytes) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        path = tmp / name
        path.write_bytes(start + b"1" * LONG_LINE)
        return ("tabular", CANCER, path, "--row", 0, "--train", CANCER_TRAIN)

    return make


POLICY = f"""
[model]
path = '{LOANS}'

[data]
kind = "tabular"
path = '{LOANS_TEST}'
rows = "0:2"
"""
RULE = '\n[[rules]]\nid = "fit"\ntype = "min_fidelity"\nmin_r2 = 0.1\n'


def policy(text: str) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        path = tmp / "audit.toml"
        path.write_text(text, encoding="utf-8")
        return ("audit", path)

    return make


def deep_policy(tmp: Path) -> tuple[Any, ...]:
    nested = "[" * 50_000 + "]" * 50_000
    return policy(POLICY + RULE + f"deep = {nested}\n")(tmp)


def big_policy(tmp: Path) -> tuple[Any, ...]:
    return policy(POLICY + RULE + "# " + "x" * (1024 * 1024) + "\n")(tmp)


def baseline(content: bytes) -> Any:
    """A policy with a drift rule against a baseline file of ``content``."""

    def make(tmp: Path) -> tuple[Any, ...]:
        (tmp / "baseline.jsonl").write_bytes(content)
        drift = '\n[[rules]]\nid = "drift"\ntype = "drift"\nbaseline = "baseline.jsonl"\n'
        return policy(POLICY + drift + "min_jaccard = 0.5\n")(tmp)

    return make


GZIPPED = gzip.compress(json.dumps({"labels": []}).encode() + b"\n")

CASES = [
    # -- memory: estimated before anything is allocated
    Case(
        "tabular: a billion samples", tabular(*BILLION), 2, "--num-samples asks for 1,000,000,000"
    ),
    Case("text: a billion samples", text(*BILLION), 2, "--num-samples asks for 1,000,000,000"),
    Case("image: a billion samples", image(*BILLION), 2, "--num-samples asks for 1,000,000,000"),
    Case(
        "tabular: samples x 30 features over the cap",
        tabular("--num-samples", 100_000),
        2,
        "100,000 samples of 30 features, which would need about 137.3 MiB",
        {"env": {MEMORY_LIMIT_ENV: "100M"}},
    ),
    Case(
        "text: samples x 300 words over the cap",
        many_words,
        2,
        "20,000 samples of 300 features",
        {"env": {MEMORY_LIMIT_ENV: "100M"}},
    ),
    Case(
        "image: batches of model input over the cap",
        image("--num-samples", 1000),
        2,
        "lower it or --batch-size",
        {"env": {MEMORY_LIMIT_ENV: "10M"}},
    ),
    Case(
        "a memory cap that is not a size",
        image(),
        2,
        f"{MEMORY_LIMIT_ENV} must be a size such as 8G",
        {"env": {MEMORY_LIMIT_ENV: "lots"}},
    ),
    # -- image size: the resize target answers to --max-pixels
    Case(
        "--resize 100000x100000",
        image("--resize", "100000x100000"),
        2,
        "--resize asks for 100000x100000 = 10,000,000,000 pixels, over the limit of 89,478,485",
    ),
    Case(
        "--resize over --max-pixels",
        image("--resize", "2000x2000", "--max-pixels", 1_000_000),
        2,
        "over the limit of 1,000,000 pixels: resize to fewer pixels, or raise --max-pixels",
    ),
    Case(
        "image that is /dev/zero",
        lambda tmp: ("image", SHAPES, "/dev/zero"),
        3,
        "/dev/zero is not a regular file",
    ),
    # -- endless or huge streams: bounded reads
    Case("text file /dev/zero", lambda tmp: ("text", NEWS, "/dev/zero"), 3, "is a device"),
    Case(
        "table of texts /dev/zero",
        lambda tmp: ("text", NEWS, "/dev/zero", "--column", "text"),
        3,
        "/dev/zero is a device, not a text file",
    ),
    Case(
        "text on stdin over 10 MiB",
        lambda tmp: ("text", NEWS, "-"),
        3,
        "<stdin> is over 10.0 MiB, the most limecli reads for one text",
        {"stdin": b"word " * (2 * 1024 * 1024 + 1)},
    ),
    Case(
        "text on stdin: 11 MiB of NUL bytes",
        lambda tmp: ("text", NEWS, "-"),
        3,
        "<stdin> looks like a binary file",
        {"stdin": bytes(11 * 1024 * 1024)},
    ),
    Case(
        "DATA /dev/zero",
        lambda tmp: ("tabular", CANCER, "/dev/zero", "--row", 0, "--train", CANCER_TRAIN),
        3,
        "data path is a device, not a CSV file: /dev/zero",
    ),
    Case(
        "--train /dev/zero",
        lambda tmp: ("tabular", CANCER, CANCER_TEST, "--row", 0, "--train", "/dev/zero"),
        3,
        "data path is a device",
    ),
    Case(
        "DATA on stdin: NUL bytes",
        lambda tmp: ("tabular", CANCER, "-", "--row", 0, "--train", CANCER_TRAIN),
        3,
        "<stdin> looks like a binary file, not a table",
        {"stdin": bytes(3 * 1024 * 1024)},
    ),
    Case(
        "CSV line over 16 MiB",
        long_line("data.csv", b"a,b\n"),
        3,
        "line 2 is longer than 16.0 MiB: is it a CSV table?",
    ),
    Case(
        "JSON Lines line over 16 MiB",
        long_line("data.jsonl", b'{"a": "'),
        3,
        "line 1 is longer than 16.0 MiB: is it JSON Lines?",
    ),
    # -- audit policies
    Case(
        "policy: num_samples in the billions",
        policy(POLICY + "\n[explainer]\nnum_samples = 3000000000\n" + RULE),
        2,
        "explainer.num_samples: asks for 3,000,000,000 samples",
    ),
    Case("policy: 50,000-deep nesting", deep_policy, 2, "nests arrays or tables too deeply"),
    Case("policy: over 1 MiB", big_policy, 2, "is over 1 MiB: is it a policy file?"),
    Case("policy /dev/zero", lambda tmp: ("audit", "/dev/zero"), 2, "binary (it holds NUL bytes)"),
    Case("baseline gzip'd", baseline(GZIPPED), 3, "is not JSON: it is gzip-compressed"),
    Case("baseline binary", baseline(b"\x00\x01\x02" * 100), 3, "is not JSON: it is a binary file"),
    Case(
        "baseline not UTF-8", baseline(b'{"labels": [\xff]}\n'), 3, "is not JSON: it is not UTF-8"
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_bounds(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    monkeypatch.chdir(tmp_path)
    for name, value in case.extra.get("env", {}).items():
        monkeypatch.setenv(name, value)
    args = case.make(tmp_path)
    output = tmp_path / "out.json"
    where = "--json" if args[0] == "audit" else "-o"
    result = run_cli(*args, where, output, input=case.extra.get("stdin"))
    check(result, case, output)


def test_the_estimate_grows_with_features(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1M")
    check_sample_memory(1000, 30)  # 960 KB
    with pytest.raises(ParameterError, match="1,000 samples of 40 features") as info:
        check_sample_memory(1000, 40)
    assert info.value.parameters == ("num_samples",)


def test_the_default_cap_is_half_the_memory_or_a_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    cap, why = memory_limit()
    assert cap > 0 and (why.startswith("half of this machine's memory") or "default" in why)
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1.5G")
    assert memory_limit()[0] == int(1.5 * 1024**3)


def test_a_pipe_is_read_once_like_stdin(run_cli, tmp_path: Path) -> None:
    """--train from a pipe (<(zcat ...)): checked, then parsed, from one copy."""
    import threading

    fifo = tmp_path / "train.pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(CANCER_TRAIN.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    output = tmp_path / "out.json"
    fast = ("--num-samples", "200", "--num-features", "3", "-q")
    result = run_cli(
        "tabular", CANCER, CANCER_TEST, "--row", 0, "--train", fifo, *fast, "-o", output
    )
    writer.join(10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(output.read_text())["kind"] == "tabular"


def test_the_policy_line_is_named(tmp_path: Path) -> None:
    from limecli.audit import PolicyError, load_policy

    path = tmp_path / "audit.toml"
    path.write_text(POLICY + "\n[explainer]\nnum_samples = 3000000000\n" + RULE, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"audit\.toml line \d+: explainer\.num_samples"):
        load_policy(path)

"""Conflicting or out-of-range options are refused (exit 2) before any work starts.

Every case names a model that does not exist: loading it would fail with exit
code 4, so exit code 2 proves the option was checked first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_DATA
from hostile import Case, check, params

CSV = SAMPLE_DATA / "diabetes_test.csv"
TEXT = SAMPLE_DATA / "text" / "leak_post.txt"
IMAGE = SAMPLE_DATA / "images" / "shapes.png"


def tabular(*args: Any) -> Any:
    return lambda tmp: ("tabular", tmp / "missing.joblib", CSV, *args)


def text(*args: Any) -> Any:
    return lambda tmp: ("text", tmp / "missing.joblib", TEXT, *args)


def image(*args: Any) -> Any:
    return lambda tmp: ("image", f"{tmp / 'missing.py'}:predict", IMAGE, *args)


def foreign_file(command: Any, flag: str = "-o") -> Any:
    """An output path holding a file limecli did not write."""

    def make(tmp: Path) -> tuple[Any, ...]:
        victim = tmp / "notes.txt"
        victim.write_text("my precious notes\n")
        return (*command(tmp), flag, victim)

    return make


CASES = [
    Case("tabular: --row with --all", tabular("--row", 0, "--all"), 2, "exactly one of"),
    Case("tabular: no row chosen", tabular(), 2, "exactly one of --row N, --rows SPEC or --all"),
    Case("tabular: negative --row", tabular("--row", -1), 2, "--row"),
    Case("tabular: --num-samples 1", tabular("--row", 0, "--num-samples", 1), 2, "--num-samples"),
    Case(
        "tabular: --num-features 0", tabular("--row", 0, "--num-features", 0), 2, "--num-features"
    ),
    Case(
        "tabular: --kernel-width 0", tabular("--row", 0, "--kernel-width", 0), 2, "--kernel-width"
    ),
    Case("tabular: --timeout 0", tabular("--row", 0, "--timeout", 0), 2, "--timeout"),
    Case("tabular: --timeout -1", tabular("--row", 0, "--timeout", -1), 2, "--timeout"),
    Case("tabular: --resume with --row", tabular("--row", 0, "--resume"), 2, "go with --rows"),
    Case("tabular: bad --rows", tabular("--rows", "a:b"), 2, "not a row number"),
    Case("tabular: --jobs 0", tabular("--all", "--jobs", 0), 2, "--jobs must be a positive"),
    Case(
        "tabular: dask without scheduler",
        tabular("--all", "--backend", "dask"),
        2,
        "needs --scheduler",
    ),
    Case("tabular: --format xml", tabular("--row", 0, "--format", "xml"), 2, "--format"),
    Case(
        "tabular: -o onto a foreign file",
        foreign_file(tabular("--row", 0)),
        2,
        "is not a limecli output",
    ),
    Case(
        "text: --char-level with --split-expression",
        text("--char-level", "--split-expression", " "),
        2,
        "not both",
    ),
    Case("text: --row without --column", text("--row", 1), 2, "--row needs --column"),
    Case("text: unknown --encoding", text("--encoding", "klingon"), 2, "unknown encoding"),
    Case("text: --max-chars 0", text("--max-chars", 0), 2, "--max-chars"),
    Case("text: --top-labels 0", text("--top-labels", 0), 2, "--top-labels"),
    Case(
        "text: --scheduler without dask",
        text("--scheduler", "tcp://x:1"),
        2,
        "--scheduler only goes with --backend dask",
    ),
    Case("image: --masks without --out-dir", image("--masks"), 2, "--out-dir"),
    Case("image: --resize 0x0", image("--resize", "0x0"), 2, "must be positive"),
    Case(
        "image: --kernel-size with slic",
        image("--segmenter", "slic", "--kernel-size", 3),
        2,
        "do(es) not apply",
    ),
    Case("image: bad --hide-color", image("--hide-color", "purple"), 2, "hide"),
    Case(
        "image: --out onto a foreign file",
        foreign_file(image(), "--out"),
        2,
        "is not a limecli output",
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_options(run_cli, tmp_path: Path, case: Case) -> None:
    output = tmp_path / "out.json"
    args = list(case.make(tmp_path))
    if "-o" not in args:
        args += ["-o", output]
    result = run_cli(*args)
    check(result, case, output)
    notes = tmp_path / "notes.txt"
    if notes.exists():
        assert notes.read_text() == "my precious notes\n"

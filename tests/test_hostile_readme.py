"""The promises of docs/errors.md about hostile input and exit codes stay true."""

from __future__ import annotations

import re

import test_hostile_batches
import test_hostile_bounds
import test_hostile_csv
import test_hostile_files
import test_hostile_images
import test_hostile_models
import test_hostile_options
import test_hostile_predictor
import test_hostile_strings
import test_hostile_text
from conftest import ROOT

from limecli.errors import EXIT_CODES

ERRORS_PAGE = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
FAMILIES = [
    test_hostile_csv,
    test_hostile_text,
    test_hostile_images,
    test_hostile_predictor,
    test_hostile_options,
    test_hostile_files,
    test_hostile_models,
    test_hostile_batches,
    test_hostile_bounds,
    test_hostile_strings,
]


def _section(title: str) -> str:
    start = ERRORS_PAGE.index(f"\n## {title}\n")
    end = ERRORS_PAGE.find("\n## ", start + 1)
    return ERRORS_PAGE[start : end if end != -1 else None]


def test_the_errors_page_counts_every_catalogue_case() -> None:
    match = re.search(r"(\d+) bad inputs tried, all rejected cleanly", ERRORS_PAGE)
    assert match, "docs/errors.md lost its 'N bad inputs tried' line"
    total = sum(len(family.CASES) for family in FAMILIES)
    assert int(match.group(1)) == total
    for family in FAMILIES:
        ids = [case.id for case in family.CASES]
        assert len(ids) == len(set(ids)), f"case ids must be unique in {family.__name__}"


def test_every_exit_code_is_in_the_errors_page_table() -> None:
    rows = re.findall(r"^\| (\d+) \|", _section("Exit codes"), flags=re.MULTILINE)
    assert sorted(int(code) for code in rows) == sorted(EXIT_CODES)


def test_help_says_that_pickles_run_code(run_cli) -> None:
    for command in ("tabular", "text", "image"):
        result = run_cli(command, "--help")
        text = " ".join(result.stdout.split())
        assert "Unpickling runs code" in text and ".skops and .onnx" in text, command
        assert "--timeout" in text and "--trust" in text and "--force" in text, command

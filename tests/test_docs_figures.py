"""The benchmark figures in docs/performance.md are those of a recorded run (bench/results/).

A benchmark takes minutes and needs the reference ``lime``, so the docs cannot run it; what
they can do is quote a run exactly. Every table row of the page and every console block that
starts with ``$ python bench/...`` must appear, line for line, in a file of bench/results/
(written by running the command shown and keeping its output). A figure edited by hand, or
a table pasted from an older run, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "bench" / "results"
_FENCE = re.compile(r"^```")


def recorded() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(RESULTS.glob("*.md")))


def table_rows(text: str) -> list[str]:
    """Rows of the page's tables of figures (not ``|---|`` separators, not the table of
    techniques, whose header says what each was ``tested against``)."""
    rows: list[str] = []
    for table in re.findall(r"(?:^\|.*\n)+", text, flags=re.MULTILINE):
        lines = [line.strip() for line in table.splitlines()]
        if "tested against" not in lines[0]:
            rows += [r for r in lines if not re.fullmatch(r"[|\-: ]+", r)]
    return rows


def bench_blocks(text: str) -> list[list[str]]:
    """Console blocks whose first line runs a benchmark: ``$ python bench/...``."""
    blocks, current, inside = [], [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            if inside and current and current[0].startswith("$ python bench/"):
                blocks.append(current)
            inside, current = not inside, []
        elif inside:
            current.append(line.rstrip())
    return blocks


def test_the_page_quotes_figures() -> None:
    # The checks below would pass vacuously on a page without figures.
    page = PAGE.read_text(encoding="utf-8")
    assert len(table_rows(page)) >= 15
    assert len(bench_blocks(page)) >= 3


@pytest.mark.parametrize("row", table_rows(PAGE.read_text(encoding="utf-8")))
def test_every_table_row_is_from_a_recorded_run(row: str) -> None:
    assert row in recorded(), f"not in bench/results/: {row}"


@pytest.mark.parametrize(
    "block", bench_blocks(PAGE.read_text(encoding="utf-8")), ids=lambda b: b[0][2:60]
)
def test_every_benchmark_block_is_a_recorded_run(block: list[str]) -> None:
    lines = [line.rstrip() for line in recorded().splitlines()]
    assert block[0] in lines, f"no recorded run of {block[0]!r}"
    # The same command may be recorded more than once (runs of different stops): one of them.
    starts = [i for i, line in enumerate(lines) if line == block[0]]
    assert any(lines[i : i + len(block)] == block for i in starts), f"{block[0]!r}: no run matches"

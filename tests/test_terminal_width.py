"""Every command's table at 60, 80, 100 and 200 columns: no line wider, every row one line.

Each command runs through the CLI on a shipped sample with ``--format table`` and
``COLUMNS`` set (stdout is not a terminal under CliRunner: COLUMNS is what a user
sets to force a width). Ground truth is the same run's JSON: every table has one row
per explained feature, in rank order, whose weight cell is the JSON weight written
whole; nothing continues a row on the next line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from rich.cells import cell_len

from limecli.cli import cli
from limecli.render.terminal_layout import Layout, Widths, fit, table_width

WIDTHS = (60, 80, 100, 200)
LOANS = [
    SAMPLE_MODELS / "loans_pipeline.joblib",
    SAMPLE_DATA / "loans_test.csv",
    "--train",
    SAMPLE_DATA / "loans_train.csv",
]
CASES: dict[str, list[object]] = {
    "breast_cancer": [
        "tabular",
        SAMPLE_MODELS / "breast_cancer_rf.joblib",
        SAMPLE_DATA / "breast_cancer_test.csv",
        "--row",
        12,
        "--train",
        SAMPLE_DATA / "breast_cancer_train.csv",
        "--num-samples",
        500,
    ],
    # Long category conditions (employment=self-employed, ...) and could-be-0 marks.
    "loans": ["tabular", *LOANS, "--row", 3, "--num-samples", 500, "--top-labels", 2],
    "text_newsgroups": [
        "text",
        SAMPLE_MODELS / "text_newsgroups.joblib",
        SAMPLE_DATA / "text" / "leak_post.txt",
        "--num-samples",
        500,
    ],
    "shapes": [
        "image",
        f"{SAMPLE_MODELS}/predict_shapes.py:predict",
        SAMPLE_DATA / "images" / "shapes.png",
        "--num-samples",
        100,
        "--top-labels",
        2,
    ],
}
ROW = re.compile(r"^ *(\d+)  ")


def run(*args: object, columns: int | None = None) -> Result:
    env = {"COLUMNS": str(columns)} if columns else {"COLUMNS": None}  # type: ignore[dict-item]
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def truth() -> dict[str, list[list[float]]]:
    """Per case, the weights of every explained label, from the JSON of the same run."""
    weights = {}
    for name, args in CASES.items():
        result = run(*args, "--format", "json", "-q")
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        records = document if isinstance(document, list) else [document]
        weights[name] = [
            [f["weight"] for f in label["features"]]
            for record in records
            for label in record["labels"]
        ]
    return weights


def tables(text: str) -> Iterator[tuple[list[str], str | None]]:
    """Each weights table's rows (the lines after its header rule up to the first line that
    is not a row), and the line after them (None at the end)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not (line.lstrip().startswith("#") and i + 1 < len(lines) and "─" in lines[i + 1]):
            continue
        rows = []
        j = i + 2
        while j < len(lines) and ROW.match(lines[j]):
            rows.append(lines[j])
            j += 1
        yield rows, lines[j] if j < len(lines) else None


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_tables_fit_and_rows_stay_whole(
    case: str, width: int, truth: dict[str, list[list[float]]]
) -> None:
    result = run(*CASES[case], "--format", "table", "-q", columns=width)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert_fits(out, width)
    found = list(tables(out))
    assert len(found) == len(truth[case])  # one table per explained label
    for (rows, after), weights in zip(found, truth[case], strict=True):
        assert [int(ROW.match(r).group(1)) for r in rows] == list(range(1, len(weights) + 1))  # type: ignore[union-attr]
        # No continuation line: a wrapped cell would start under the rank, with spaces.
        assert after is None or after == "" or not after.startswith(" ")
        for row, weight in zip(rows, weights, strict=True):
            assert f" {weight:+.4f} " in f"{row} ", row  # the weight whole, never cut
            assert re.search(r"[+-]\d\.\d{3} … [+-]\d\.\d{3}|±\d\.\d{3}", row), row


def test_narrow_tables_give_up_bars_then_interval_form_then_name_characters(
    truth: dict[str, list[list[float]]],
) -> None:
    wide = run(*CASES["loans"], "--format", "table", "-q", columns=200).stdout
    at_80 = run(*CASES["loans"], "--format", "table", "-q", columns=80).stdout
    at_60 = run(*CASES["loans"], "--format", "table", "-q", columns=60).stdout
    assert "█" in wide and " … " in wide and "±" not in wide
    assert "█" not in at_80 and " … " in at_80  # the bars went first
    assert "±" in at_60 and "█" not in at_60
    # The could-be-0 words survive every width.
    for text in (wide, at_80, at_60):
        assert text.count("could be 0") == wide.count("could be 0")


def test_layout_order_on_measured_widths() -> None:
    w = Widths(
        rank=2,
        feature=30,
        value=12,
        value_floor=6,
        weight=7,
        interval=17,
        short_interval=6,
        marker=10,
    )
    assert fit(w, 200) == Layout(bar=24)
    narrower = fit(w, 110)
    assert 4 <= narrower.bar < 24 and table_width(w, narrower) == 110
    no_bar = fit(w, 92)  # 88 without bars; 95 with bars of 4 cells
    assert no_bar == Layout(bar=0) and table_width(w, no_bar) <= 92
    short = fit(w, 84)
    assert short == Layout(bar=0, short_interval=True)
    cut = fit(w, 60)
    assert cut.short_interval and cut.feature is not None and cut.feature < 30
    assert table_width(w, cut) <= 60 and (cut.value is None or cut.value >= w.value_floor)


def audit_policy(tmp_path: Path) -> Path:
    """examples/audit/tabular_pass.toml on 6 rows, with paths made absolute."""
    text = (Path(__file__).parent.parent / "examples/audit/tabular_pass.toml").read_text()
    text = text.replace("../../", f"{Path(__file__).parent.parent}/")
    text = text.replace('rows = "0:50"', 'rows = "0:6"').replace("5000", "300")
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    return policy


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_table_fits(tmp_path: Path, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Named as a user would, from its folder (a path longer than a line is never broken).
    monkeypatch.chdir(audit_policy(tmp_path).parent)
    result = run("audit", "policy.toml", "-q", "--json", "report.json", columns=width)
    assert result.exit_code in (0, 1), result.stderr  # 1: a rule failed on so few samples
    assert_fits(result.stdout, width)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    lines = result.stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    rows = lines[rule + 1 : rule + 1 + len(report["rules"])]
    for row, rule_report in zip(rows, report["rules"], strict=True):
        # One line per rule, its numbers whole at the end of it.
        assert row.split()[0] in ("PASS", "FAIL", "WARN", "SKIP")
        checked, offending = row.split()[-2:]
        assert int(checked) == rule_report["checked"]
        assert int(offending) == len(rule_report["offenders"])
    assert not lines[rule + 1 + len(report["rules"])].startswith(" ")
    # Each rule is named whole in the lines under the table, whatever the table cut.
    for rule_report in report["rules"]:
        assert f" {rule_report['id']}: " in result.stdout


def test_audit_lines_stay_whole_in_a_log(tmp_path: Path) -> None:
    """Without COLUMNS (a CI log), the lines under the table are not wrapped: grep finds them."""
    result = run("audit", audit_policy(tmp_path), "-q")
    assert result.exit_code in (0, 1), result.stderr
    whole = re.compile(r"^(PASS|FAIL|WARN) high-debt-pushes-to-reject: .{60,}\(allowed: 0%\)$")
    assert len([line for line in result.stdout.splitlines() if whole.match(line)]) == 1

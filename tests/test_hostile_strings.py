"""Hostile strings: names from the data, the options or a policy that try to steer the terminal.

Column names, class names, cell values, file names, feature names in a
summary, rule ids in an audit: an ESC (``\\x1b[31m``, ``\\x1b]0;title\\x07``),
a C1 CSI (``\\x9b``), a bidirectional override or rich markup (``[/x]``) is
shown escaped (``\\x1b``), never sent raw; JUnit XML stays well-formed; an
audit pattern that backtracks catastrophically is refused (exit 2) instead
of hanging the audit.

A case with code 0 names in ``extra["shows"]`` what the output must show
(the escaped form); the test also finds no raw control character on
stdout, on stderr or in the output file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_MODELS
from hostile import Case, check, params
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from limecli.audit.patterns import nested_repeat

NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "tests" / "golden" / "summary_table_json_csv_html" / "files" / "batch.jsonl"
FAST = ("--num-samples", "200", "--num-features", "3", "-q")
#: What must never reach a terminal raw (newline and tab are fine).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
ESC = "\x1b[31m"
TITLE = "\x1b]0;pwned\x07"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3-feature model fitted on arrays (any column names fit it), and a pipeline with a
    categorical column whose values hold escapes."""
    folder = tmp_path_factory.mktemp("strings")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    numeric = folder / "numeric.joblib"
    joblib.dump(LogisticRegression().fit(x, y), numeric)
    frame = pd.DataFrame(x[:, :2], columns=["a", "b"])
    frame["kind"] = np.where(x[:, 2] > 0, f"red{ESC}x", f"up{TITLE}y")
    encode = ColumnTransformer(
        [("kind", OneHotEncoder(handle_unknown="ignore"), ["kind"])], remainder="passthrough"
    )
    pipeline = folder / "pipeline.joblib"
    joblib.dump(make_pipeline(encode, LogisticRegression()).fit(frame, y), pipeline)
    frame.round(3).to_csv(folder / "pipeline.csv", index=False)
    return {"numeric": numeric, "pipeline": pipeline, "pipeline_data": folder / "pipeline.csv"}


def table(tmp: Path, columns: list[str], name: str = "data.csv") -> Path:
    rng = np.random.default_rng(1)
    path = tmp / name
    pd.DataFrame(rng.normal(size=(40, 3)).round(3), columns=columns).to_csv(path, index=False)
    return path


def tabular(columns: list[str], *args: Any) -> Any:
    return lambda tmp: ("tabular", "{numeric}", table(tmp, columns), "--row", 0, *FAST, *args)


def text(content: str, name: str = "post.txt", *args: Any) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        path = tmp / name
        path.write_text(content, encoding="utf-8", errors="surrogateescape")
        return ("text", NEWS, path, *FAST, *args)

    return make


def summary(replace: dict[str, str], *args: Any) -> Any:
    """``limecli summary`` of recorded explanations with names replaced (JSON escapes)."""

    def make(tmp: Path) -> tuple[Any, ...]:
        raw = RECORDS.read_text(encoding="utf-8")
        for old, new in replace.items():
            raw = raw.replace(old, json.dumps(new)[1:-1])
        path = tmp / "explanations.jsonl"
        path.write_text(raw, encoding="utf-8")
        return ("summary", path, *args)

    return make


def audit(rules: str, columns: list[str] | None = None, *args: Any) -> Any:
    """An audit of the numeric model on a table with ``columns``; ``rules`` in TOML."""

    def make(tmp: Path) -> tuple[Any, ...]:
        data = table(tmp, columns or ["a", "b", "c"])
        policy = tmp / "audit.toml"
        policy.write_text(
            f"[model]\npath = '{{numeric}}'\n\n[data]\nkind = \"tabular\"\npath = '{data}'\n"
            f'rows = "0:3"\n\n[explainer]\nnum_samples = 300\n{rules}',
            encoding="utf-8",
        )
        return ("audit", policy, *args)

    return make


def text_audit(rules: str) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        (tmp / "post.txt").write_text("orbit " + "a" * 40 + " shuttle nasa", encoding="utf-8")
        policy = tmp / "audit.toml"
        policy.write_text(
            f"[model]\npath = '{NEWS}'\n\n[data]\nkind = \"text\"\npath = 'post.txt'\n\n"
            f"[explainer]\nnum_samples = 200\n{rules}",
            encoding="utf-8",
        )
        return ("audit", policy)

    return make


def rule(rule_id: str = "fit", body: str = 'type = "min_fidelity"\nmin_r2 = -100\n') -> str:
    """A TOML rule; ``rule_id`` is written with TOML escapes (\\u001b)."""
    escaped = json.dumps(rule_id)  # a JSON string is a TOML basic string
    return f"\n[[rules]]\nid = {escaped}\n{body}"


WARN_ALL = 'type = "forbidden_features"\npatterns = ["."]\nseverity = "warning"\n'

CASES = [
    # -- tabular: names and values in the terminal table
    Case(
        "ESC in column names",
        tabular([f"a{ESC}RED", f"b{TITLE}", "c"], "--format", "table"),
        0,
        "",
        {"shows": "a\\x1b[31mRED"},
    ),
    Case(
        "C1 CSI and DEL in a column name",
        tabular(["a\x9b31m", "b\x7f", "c"], "--format", "table"),
        0,
        "",
        {"shows": "a\\x9b31m"},
    ),
    Case(
        "bidirectional override in a column name",
        tabular(["a\u202etxt.exe", "b", "c"], "--format", "table"),
        0,
        "",
        {"shows": "a\\u202etxt.exe"},
    ),
    Case(
        "ESC in --class-names",
        tabular(["a", "b", "c"], "--format", "table", "--class-names", f"no{ESC},yes{TITLE}"),
        0,
        "",
        {"shows": "no\\x1b[31m"},
    ),
    Case(
        "rich markup in --class-names",
        tabular(["a", "b", "c"], "--format", "table", "--class-names", "[/x]no,[bold]yes"),
        0,
        "",
        {"shows": "[/x]no"},
    ),
    Case(
        "ESC in a categorical cell",
        lambda tmp: (
            "tabular",
            "{pipeline}",
            "{pipeline_data}",
            "--row",
            0,
            *FAST,
            "--format",
            "table",
        ),
        0,
        "",
        {"shows": "\\x1b"},
    ),
    # -- text: the text itself and its file name
    Case(
        "ESC sequences in the text",
        text(
            f"the nasa {ESC}shuttle{TITLE} orbit launch\x9b2J space",
            "post.txt",
            "--format",
            "table",
        ),
        0,
        "",
        {"shows": "shuttle"},
    ),
    Case(
        "ESC in a text's file name",
        text("the nasa shuttle orbit launch", f"post{ESC}.txt", "--format", "table"),
        0,
        "",
        {"shows": "post\\x1b[31m.txt"},
    ),
    Case(
        "file name that is not UTF-8",
        text("the nasa shuttle orbit launch", "caf\udce9.txt", "--format", "table"),
        0,
        "",
        {"shows": "caf\\udce9.txt"},
    ),
    # -- summary tables
    Case(
        "summary: ESC in feature names",
        summary(
            {"mean concavity": f"mean{ESC} concavity", "worst radius": f"worst{TITLE}"},
            "--format",
            "table",
        ),
        0,
        "",
        {"shows": "mean\\x1b[31m concavity"},
    ),
    Case(
        "summary: markup and ESC in labels and sources",
        summary(
            {"benign": f"[/x]ben{ESC}ign", "sample_data/breast_cancer_test.csv": f"d{TITLE}.csv"},
            "--format",
            "table",
            "--pick",
            "2",
        ),
        0,
        "",
        {"shows": "[/x]ben\\x1b[31mign"},
    ),
    Case(
        "summary JSON: C1 controls in feature names",
        summary({"mean concavity": "mean\x9b1m concavity"}, "--format", "json"),
        0,
        "",
        {"shows": "mean\\u009b1m concavity"},
    ),
    # -- audit reports
    Case(
        "audit table: ESC and markup in a rule id",
        audit(rule(f"[/x]fit{ESC}")),
        0,
        "",
        {"shows": "[/x]fit\\x1b[31m", "stdout": True},
    ),
    Case(
        "JUnit: NUL, ESC and a form feed in a rule id",
        audit(rule(f"fit\x00{ESC}\x0c")),
        0,
        "",
        {"shows": "fit\\x00\\x1b[31m\\x0c", "report": "--junit", "xml": True},
    ),
    Case(
        "JUnit: control characters in feature names",
        audit(rule("names", WARN_ALL), [f"a{ESC}", "b\x01", "c\x1f"]),
        0,
        "",
        {"shows": "a\\x1b[31m", "report": "--junit", "xml": True},
    ),
    Case(
        "Markdown: control characters in names",
        audit(rule(f"md{ESC}", WARN_ALL), [f"a{TITLE}", "b", "c"]),
        0,
        "",
        {"shows": "a\\\\x1b]0;pwned\\\\x07", "report": "--markdown"},
    ),
    Case(
        "JSON report: C1 controls in names",
        audit(rule("json\x9b", WARN_ALL), ["a\x9b1m", "b", "c"]),
        0,
        "",
        {"shows": "a\\u009b1m", "report": "--json"},
    ),
    # -- audit patterns that would backtrack for ever
    Case(
        "pattern (a+)+$",
        audit(rule("p", 'type = "forbidden_features"\npatterns = ["(a+)+$"]\n')),
        2,
        "rules[0].patterns: /(a+)+$/ repeats a group that holds a repeat itself",
    ),
    Case(
        "pattern (\\w+\\s?)*$",
        audit(rule("p", 'type = "required_features"\npatterns = ["(\\\\w+\\\\s?)*$"]\n')),
        2,
        "catastrophic backtracking",
    ),
    Case(
        "weight_bounds pattern (.*a){20}",
        audit(rule("p", 'type = "weight_bounds"\npattern = "(.*a){20}"\nmax = 1\n')),
        2,
        "rules[0].pattern: /(.*a){20}/ repeats a group",
    ),
    Case(
        "pattern (a|a)*b on a long word: stopped after 1 s",
        text_audit(rule("p", 'type = "forbidden_features"\npatterns = ["(a|a)*b"]\n')),
        2,
        "rules[0]: the pattern /(a|a)*b/ took over 1 s of CPU time on the feature 'aaaaaaaaaa",
    ),
]


def _fill(args: tuple[Any, ...], models: dict[str, Path]) -> list[Any]:
    out = []
    for arg in args:
        if isinstance(arg, Path) and arg.suffix == ".toml":
            arg.write_text(arg.read_text().replace("{numeric}", str(models["numeric"])))
        out.append(models[arg[1:-1]] if isinstance(arg, str) and arg[1:-1] in models else arg)
    return out


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_strings(
    run_cli, models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _fill(case.make(tmp_path), models)
    output = tmp_path / ("out.xml" if case.extra.get("xml") else "out.txt")
    flag = case.extra.get("report", "--json" if args[0] == "audit" else "-o")
    result = run_cli(*args, flag, output)
    if case.code != 0:
        check(result, case, output)
        return
    assert result.exit_code == 0, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr, result.stderr
    written = output.read_text(encoding="utf-8")
    shown = result.stdout if case.extra.get("stdout") else written
    for where, content in (("stdout", result.stdout), ("stderr", result.stderr), ("file", written)):
        raw = RAW.search(content)
        assert raw is None, f"raw {raw.group()!r} on {where}: {content[:2000]!r}"
    assert case.extra["shows"] in shown, shown[:3000]
    if case.extra.get("xml"):
        ET.fromstring(written.encode("utf-8"))  # well-formed


@pytest.mark.parametrize(
    ("pattern", "nested"),
    [
        ("(a+)+$", True),
        ("(.*a){20}", True),
        ("(?:(a+))*", True),
        ("(?>(a+)+b)", True),
        ("^(income|age)_\\d+$", False),
        ("(a{2})+", False),
        ("(?>a+)+", False),
        ("(a++)+", False),
        ("(?:ab?)+", False),
    ],
)
def test_nested_repeats_are_found(pattern: str, nested: bool) -> None:
    assert nested_repeat(pattern) is nested

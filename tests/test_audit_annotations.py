"""``limecli audit`` annotations: one GitHub workflow command per failed rule, escaped, on stderr.

The lines are read back as the Actions runner reads them (split at ``::``, properties at
``,`` and ``=``, then percent-decoded), so a test passes only if GitHub would show the
message, title, file and line that were meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from limecli.audit.annotations import (
    escape_data,
    escape_property,
    on_github_actions,
    workflow_command,
)
from tests.conftest import SAMPLE_DATA, quick_loans_policy

Run = Callable[..., Result]
#: A workflow command line: ::name props::message (props optional).
COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")
#: Tricky for the format: its own separators, its escape character, line ends, an escape lookalike.
NASTY = "a: b, c=d :: 100% of %0A rows\r\nnext line"


def unescape(text: str, *, prop: bool = False) -> str:
    """The runner's decoding: the escapes of line ends (and of ':' ',' in properties), '%' last."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
    for code, char in [*pairs, ("%25", "%")]:
        text = text.replace(code, char)
    return text


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = {}
    for pair in (match["props"] or "").split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = unescape(value, prop=True)
    return match["name"], props, unescape(match["message"])


# -- the format -----------------------------------------------------------------------------------
def test_escapes_are_the_runners() -> None:
    assert escape_data("100%\r\n:,") == "100%25%0D%0A:,"
    assert escape_property("100%\r\n:,") == "100%25%0D%0A%3A%2C"
    assert escape_data("%0A") == "%250A"  # a literal escape lookalike survives the decoding


def test_a_command_reads_back_as_written() -> None:
    line = workflow_command("error", NASTY, file="p,a:t%h.toml", line=7, title=NASTY, col=None)
    assert "\n" not in line and "\r" not in line  # one line, whatever the message holds
    name, props, message = parse(line)
    assert name == "error" and message == NASTY
    assert props == {"file": "p,a:t%h.toml", "line": "7", "title": NASTY}
    assert workflow_command("warning", "plain") == "::warning::plain"


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("TRUE", True), ("false", False), ("", False)]
)
def test_on_github_actions(value: str, expected: bool) -> None:
    assert on_github_actions({"GITHUB_ACTIONS": value}) is expected
    assert on_github_actions({}) is False


# -- from the command line ------------------------------------------------------------------------
def policy_file(folder: Path) -> Path:
    """Three loans rows: an error rule that fails, a warning rule that fails, one that passes."""
    path = folder / "policy.toml"
    path.write_text(
        "# an audit for the annotation tests\n"
        + quick_loans_policy(
            f"""
[[rules]]
id = "fits-perfectly"
type = "min_fidelity"
description = "{NASTY.replace(chr(13), "").replace(chr(10), " ")}"
min_r2 = 0.999

[[rules]]
id = "fits-somehow"
type = "min_fidelity"
min_r2 = -1.0

[[rules]]
id = "income-tiny"
type = "weight_bounds"
severity = "warning"
feature = "income"
min = -0.00001
max = 0.00001
"""
        ),
        encoding="utf-8",
    )
    return path


def header_lines(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [i for i, line in enumerate(lines, start=1) if line.strip() == "[[rules]]"]


def annotations(stderr: str) -> list[tuple[str, dict[str, str], str]]:
    return [parse(line) for line in stderr.splitlines() if line.startswith("::")]


def test_failed_rules_are_annotated_on_github(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = policy_file(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    result = run_cli("audit", policy, "-q")
    assert result.exit_code == 1
    assert "::" not in result.stdout  # stdout keeps the results only
    found = annotations(result.stderr)
    assert len(found) == 2 == len(result.stderr.splitlines())
    (err_name, err_props, err_message), (warn_name, warn_props, warn_message) = found
    first, _, third = header_lines(policy)
    assert err_name == "error" and warn_name == "warning"
    # The repository-relative path of the policy, at the rule's [[rules]] line.
    assert err_props == {
        "file": "policy.toml",
        "line": str(first),
        "title": "limecli audit rule fits-perfectly failed",
    }
    assert warn_props["line"] == str(third)
    assert warn_props["title"] == "limecli audit rule income-tiny warns"
    # The verdict, the description (its ',' ':' '%' intact), then the offenders, one a line.
    lines = err_message.split("\n")
    assert lines[0].startswith("3 of 3 inputs (100%) have a local fit R² below 0.999")
    assert lines[1] == NASTY.replace("\r", "").replace("\n", " ")
    assert lines[2].startswith(f"- {SAMPLE_DATA / 'loans_test.csv'} row 0 (predicted ")
    assert len(lines) == 5 and lines[4].startswith("- ")
    assert warn_message.split("\n")[0].endswith(
        "3 of 3 explanations using 'income' (100%) break it (allowed: 0%)"
    )


def test_more_offenders_than_shown_are_counted(tmp_path: Path, run_cli: Run) -> None:
    policy = policy_file(tmp_path)
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('rows = "0:3"', 'rows = "0:5"'),
        encoding="utf-8",
    )
    result = run_cli("audit", policy, "-q", "--annotations")
    (_, _, message), _ = annotations(result.stderr)
    assert message.split("\n")[-1] == "... and 2 more (all in the JUnit and JSON reports)"


def test_outside_github_only_when_asked(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = policy_file(tmp_path)
    assert annotations(run_cli("audit", policy, "-q").stderr) == []
    asked = run_cli("audit", policy, "-q", "--annotations")
    assert [name for name, _, _ in annotations(asked.stderr)] == ["error", "warning"]
    # No workspace: the policy as it was named.
    assert annotations(asked.stderr)[0][1]["file"] == policy.as_posix()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    refused = run_cli("audit", policy, "-q", "--no-annotations")
    assert refused.exit_code == 1 and refused.stderr == ""


def test_a_passing_audit_annotates_nothing(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = policy_file(tmp_path)
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.split("[[rules]]")[0] + "[[rules]]" + text.split("[[rules]]")[2])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run_cli("audit", policy, "-q")
    assert result.exit_code == 0 and result.stderr == ""


def test_annotations_do_not_take_stdout_from_a_report(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("audit", policy_file(tmp_path), "-q", "--annotations", "--junit", "-")
    assert result.stdout.startswith("<?xml") and "::error" not in result.stdout
    assert len(annotations(result.stderr)) == 2

"""--color auto|always|never, NO_COLOR, FORCE_COLOR and TERM=dumb (limecli.cli.color).

The decision table first, then through the CLI: a table forced with --format table on
CliRunner's pipe, with and without a stdout that says it is a terminal.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from conftest import SAMPLE_DATA, SAMPLE_MODELS

import limecli.cli.color as color
from limecli.cli import cli

ESC = "\x1b["
TABLE = [
    "tabular",
    SAMPLE_MODELS / "loans_pipeline.joblib",
    SAMPLE_DATA / "loans_test.csv",
    "--train",
    SAMPLE_DATA / "loans_train.csv",
    "--num-samples",
    300,
    "--format",
    "table",
]
ONE_ROW = [*TABLE, "--row", 3]
BATCH = [*TABLE, "--rows", "0:3"]
CLEAN = {"NO_COLOR": None, "FORCE_COLOR": None, "TERM": "xterm"}


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("choice", "env", "tty", "expected"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # empty: not set (no-color.org)
        ("auto", {"FORCE_COLOR": "1"}, False, True),
        ("auto", {"FORCE_COLOR": ""}, False, False),
        ("auto", {"TERM": "dumb"}, True, False),
        ("auto", {"TERM": "dumb", "FORCE_COLOR": "1"}, False, True),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ("always", {"NO_COLOR": "1", "TERM": "dumb"}, False, True),
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_decision(choice: str, env: dict[str, str], tty: bool, expected: bool) -> None:
    assert color.use_color(Stream(tty), choice, env) is expected


def invoke(*args: object, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        cli, [str(a) for a in args], env={**CLEAN, **(env or {})}, catch_exceptions=False
    )


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make limecli take stdout and stderr for terminals (a tty-like table and progress)."""

    def on() -> None:
        monkeypatch.setattr(color, "is_terminal", lambda stream: True)

    return on


def assert_plain(result: Result) -> None:
    assert result.exit_code == 0, result.stderr
    assert ESC not in result.stdout and ESC not in result.stderr


def test_a_pipe_gets_no_colour_by_default() -> None:
    assert_plain(invoke(*ONE_ROW))


@pytest.mark.parametrize("where", ["before", "after"])
def test_always_colours_even_through_a_pipe(where: str) -> None:
    args = ["--color", "always", *ONE_ROW] if where == "before" else [*ONE_ROW, "--color", "always"]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert ESC in result.stdout
    # Only the escapes differ: the same table underneath.
    plain = invoke(*ONE_ROW).stdout
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", result.stdout) == plain


def test_force_color_colours_through_a_pipe_unless_never() -> None:
    assert ESC in invoke(*ONE_ROW, env={"FORCE_COLOR": "1"}).stdout
    assert_plain(invoke(*ONE_ROW, "--color", "never", env={"FORCE_COLOR": "1"}))


def test_on_a_terminal_colour_unless_no_color_never_or_dumb(terminal: Callable[[], None]) -> None:
    terminal()
    assert ESC in invoke(*ONE_ROW).stdout
    assert_plain(invoke(*ONE_ROW, env={"NO_COLOR": "1"}))
    assert_plain(invoke(*ONE_ROW, "--color", "never"))
    assert_plain(invoke("--color", "never", *ONE_ROW))
    assert_plain(invoke(*ONE_ROW, env={"TERM": "dumb"}))
    # --color always beats NO_COLOR.
    assert ESC in invoke(*ONE_ROW, "--color", "always", env={"NO_COLOR": "1"}).stdout


def test_after_the_command_wins() -> None:
    assert_plain(invoke("--color", "always", *ONE_ROW, "--color", "never"))
    assert ESC in invoke("--color", "never", *ONE_ROW, "--color", "always").stdout


def test_batch_stderr_has_no_escapes(terminal: Callable[[], None]) -> None:
    """A batch's progress and notes, with NO_COLOR or --color never, even 'on a terminal'."""
    terminal()
    for result in (invoke(*BATCH, env={"NO_COLOR": "1"}), invoke(*BATCH, "--color", "never")):
        assert_plain(result)
        assert "3/3" in result.stderr  # the (live) progress was there, without colour


@pytest.mark.parametrize("command", ["text", "image"])
def test_other_kinds(command: str) -> None:
    args = {
        "text": [SAMPLE_MODELS / "text_newsgroups.joblib", SAMPLE_DATA / "text" / "leak_post.txt"],
        "image": [
            f"{SAMPLE_MODELS}/predict_shapes.py:predict",
            SAMPLE_DATA / "images" / "shapes.png",
        ],
    }[command]
    run = [command, *args, "--num-samples", 100, "--format", "table"]
    assert_plain(invoke(*run, env={"NO_COLOR": "1"}))
    assert ESC in invoke(*run, "--color", "always").stdout


def test_invalid_choice_is_a_usage_error() -> None:
    result = invoke(*ONE_ROW, "--color", "sometimes")
    assert result.exit_code == 2
    assert "--color" in result.stderr and "sometimes" in result.stderr

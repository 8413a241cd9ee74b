"""docs/cli.md is what the commands print, and every list of exit codes agrees with the code."""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

from click.testing import CliRunner

from limecli import errors
from limecli.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
MAKER = ROOT / "docs" / "make_cli_reference.py"

# Codes the group's --help may leave out: a closed stdout ends quietly, on purpose, and
# whoever closed it reads no message.
NOT_IN_HELP = {errors.EXIT_BROKEN_PIPE}


def maker() -> ModuleType:
    """docs/make_cli_reference.py, loaded from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_cli_reference", MAKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    expected = maker().reference()
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    if page != expected:
        diff = difflib.unified_diff(
            page.splitlines(), expected.splitlines(), "docs/cli.md", "--help now", lineterm=""
        )
        shown = "\n".join(list(diff)[:40])
        raise AssertionError(
            f"docs/cli.md is stale: run python docs/make_cli_reference.py\n{shown}"
        )


def test_reference_covers_every_command() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    titles = re.findall(r"^## (limecli.*)$", page, re.MULTILINE)
    assert titles[0] == "limecli"
    assert sorted(titles[1:]) == sorted(f"limecli {name}" for name in COMMANDS)


def codes_in(help_text: str) -> dict[int, str]:
    """The ``Exit codes: 0 ok, 1 ..., 143 terminated (SIGTERM).`` sentence of a --help."""
    flat = " ".join(help_text.split())
    match = re.search(r"Exit codes: (.*?)\.(?: |$)", flat)
    assert match, "no 'Exit codes:' sentence in the help"
    return {int(code): text for code, text in re.findall(r"(\d+) ([^,]+)", match.group(1))}


def test_group_help_lists_the_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=100)
    assert result.exit_code == 0
    listed = codes_in(result.stdout)
    assert set(listed) <= set(errors.EXIT_CODES), "--help names a code errors.py does not have"
    missing = set(errors.EXIT_CODES) - set(listed) - NOT_IN_HELP
    assert not missing, f"limecli --help does not list exit codes {sorted(missing)}"


def test_audit_help_codes_are_known_codes() -> None:
    result = CliRunner().invoke(cli, ["audit", "--help"], terminal_width=100)
    assert result.exit_code == 0
    listed = codes_in(result.stdout)
    assert listed and set(listed) <= set(errors.EXIT_CODES)


def test_every_error_class_code_is_documented() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    raised = {cls.exit_code for cls in subclasses(errors.LimeCliError)}
    assert raised <= set(errors.EXIT_CODES)
    assert errors.EXIT_BROKEN_PIPE in errors.EXIT_CODES


def test_exit_code_table_rows_are_the_codes() -> None:
    table = maker().exit_code_table()
    rows = table.splitlines()[2:]
    assert [int(row.split("|")[1]) for row in rows] == sorted(errors.EXIT_CODES)
    # every row has exactly its two cells (an unescaped "|" would add one)
    assert all(len(re.split(r"(?<!\\)\|", row)) == 4 for row in rows)

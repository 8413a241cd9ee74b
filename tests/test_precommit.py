"""pre-commit runs the same lint and type checks as CI, with the same installed tools."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
CHECK_TOOLS = ("ruff", "mypy")


def hooks() -> list[dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def ci_checks() -> list[list[str]]:
    """The ruff and mypy command lines of .ci/run, as argument lists."""
    commands = []
    for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        if words[0] in CHECK_TOOLS:
            commands.append(words)
    return commands


def test_hooks_run_the_ci_checks_and_only_those() -> None:
    entries = [shlex.split(hook["entry"]) for hook in hooks()]
    assert ci_checks(), ".ci/run has no ruff or mypy line"
    assert entries == ci_checks()


def test_hooks_use_the_installed_tools_on_the_whole_tree() -> None:
    # language: system runs the ruff and mypy of the test extra (the versions CI installs);
    # no file names are passed, so a hook checks what CI checks, not just the staged files.
    for hook in hooks():
        assert hook["language"] == "system", hook["id"]
        assert hook["pass_filenames"] is False, hook["id"]


def test_tools_are_in_the_test_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = {Requirement(r).name for r in pyproject["project"]["optional-dependencies"]["test"]}
    assert set(CHECK_TOOLS) <= extra


def test_ci_measures_coverage_with_a_floor_around_the_readme_command() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    exports = [line for line in lines if line.startswith("export PYTEST_ADDOPTS=")]
    assert len(exports) == 1, "coverage goes through PYTEST_ADDOPTS, set once"
    options = shlex.split(shlex.split(exports[0])[1].partition("=")[2])
    assert "--cov=limecli" in options
    floors = [int(o.partition("=")[2]) for o in options if o.startswith("--cov-fail-under=")]
    assert floors and floors[0] > 0
    # The suite runs after the export, with the README's command as users type it.
    assert lines.index(exports[0]) < lines.index("pip install -e '.[test]' && python -m pytest -q")

"""The package's metadata tells the truth: one version, and the Python it really needs."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import limecli
from limecli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def floor(specifiers: str) -> tuple[int, ...]:
    """The lowest version a ``>=X.Y`` requirement allows, as a tuple."""
    bounds = [s.version for s in SpecifierSet(specifiers) if s.operator == ">="]
    assert len(bounds) == 1, f"expected one '>=' bound in {specifiers!r}"
    return tuple(int(part) for part in bounds[0].split("."))


def test_version_lives_in_one_place() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project, "the version belongs in limecli/__init__.py only"
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "limecli.__version__"}


def test_installed_version_is_the_package_version() -> None:
    assert importlib.metadata.version("limecli") == limecli.__version__


def test_cli_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"limecli, version {limecli.__version__}\n"


def test_requires_python_is_scikit_learns_floor() -> None:
    # The pinned scikit-learn decides the oldest Python limecli can run on: claiming an
    # older one would let pip install limecli where its dependencies cannot go.
    ours = PYPROJECT["project"]["requires-python"]
    sklearn = importlib.metadata.metadata("scikit-learn")["Requires-Python"]
    assert floor(ours) == floor(sklearn), (ours, sklearn)
    # The installed metadata says the same (a stale install would not).
    assert importlib.metadata.metadata("limecli")["Requires-Python"] == ours


def test_installed_scikit_learn_is_the_pinned_one() -> None:
    pin = next(
        Requirement(dep)
        for dep in PYPROJECT["project"]["dependencies"]
        if Requirement(dep).name == "scikit-learn"
    )
    assert importlib.metadata.version("scikit-learn") in pin.specifier


def test_tools_check_the_same_python_as_the_floor() -> None:
    # ruff's modernisations and mypy's checks assume the oldest supported Python, so code
    # that needs a newer one (as tomllib did on 3.10) is caught.
    major, minor = floor(PYPROJECT["project"]["requires-python"])
    assert PYPROJECT["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    assert PYPROJECT["tool"]["mypy"]["python_version"] == f"{major}.{minor}"


def test_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(limecli.__version__)}\]", changelog, re.MULTILINE)

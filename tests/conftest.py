"""Shared fixtures: the CLI runner and paths of the shipped samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from limecli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MODELS = ROOT / "sample_models"
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke ``limecli`` with arguments; stdout and stderr are kept apart."""
    runner = CliRunner()

    def run(*args: object, input: str | bytes | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run

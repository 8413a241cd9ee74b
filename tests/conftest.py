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


def quick_loans_policy(rules: str, *, model: Path = SAMPLE_MODELS / "loans_pipeline.joblib") -> str:
    """An audit policy of three loans rows at 200 samples (a few seconds) with ``rules``
    (``[[rules]]`` tables in TOML) after it."""
    return f"""[model]
path = '{model}'
[data]
kind = "tabular"
path = '{SAMPLE_DATA / "loans_test.csv"}'
train = '{SAMPLE_DATA / "loans_train.csv"}'
rows = "0:3"
[explainer]
num_samples = 200
num_features = 4
{rules}"""


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke ``limecli`` with arguments; stdout and stderr are kept apart."""
    runner = CliRunner()

    def run(*args: object, input: str | bytes | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(autouse=True)
def _not_on_a_github_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the same environment on a GitHub runner as anywhere else: limecli turns on
    annotations and appends to the step summary when these are set."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)

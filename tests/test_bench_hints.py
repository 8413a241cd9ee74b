"""bench/ scripts say which extra they need, and stop with one line when it is missing.

Each script runs in a child whose ``sys.modules`` blocks the package (as if it were not
installed, even where it is); the check comes before any benchmark work, so this is fast.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from _requires import INSTALL, PROVIDERS  # noqa: E402

# script -> (blocked package, arguments that get past argument parsing, checked at the top)
CASES = {
    "bench_batch.py": ("lime", [], True),
    "bench_expensive_model.py": ("lime", [], True),
    "bench_image.py": ("lime", [], True),
    "bench_tabular.py": ("lime", [], True),
    "bench_text.py": ("lime", [], True),
    "bench_scaling_batch.py": ("lime", [], True),
    "bench_scaling_features.py": ("lime", [], True),
    "bench_scaling_text.py": ("lime", [], True),
    "quality.py": ("lime", [], True),
    "run.py": ("lime", [], True),
    "scaling.py": ("lime", [], True),
    "compare_commits.py": ("lime", ["--old", "/nonexistent"], False),
    "bench_memory.py": ("pyarrow", [], False),
    "calibration.py": ("palmerpenguins", [], False),
}

# Runs a script as `python bench/SCRIPT` would (bench/ first on sys.path), with `blocked`
# unimportable; says afterwards whether numpy had been imported by then.
CHILD = """
import runpy, sys
script, blocked, *args = sys.argv[1:]
sys.modules[blocked] = None
sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
sys.argv = [script, *args]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    print("numpy imported:", "numpy" in sys.modules)
"""


def scripts() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))


#: Scripts that need nothing beyond limecli (limecli's own code before and after a change).
NEEDS_NOTHING = {
    "bench_auto_batch.py",
    "bench_beside.py",
    "bench_scaling_image.py",
    "bench_tabular_stages.py",
}


def test_every_script_has_a_case() -> None:
    assert sorted([*CASES, *NEEDS_NOTHING]) == scripts()


@pytest.mark.parametrize("script", sorted(CASES))
def test_missing_extra_is_one_line_and_exit_2(script: str) -> None:
    blocked, args, at_top = CASES[script]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(BENCH / script), blocked, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"Error: bench/{script} needs {PROVIDERS[blocked]}: pip install -e '.[bench]'\n"
    )
    if at_top:  # checked before the script's heavy imports
        assert result.stdout == "numpy imported: False\n"


@pytest.mark.parametrize("script", scripts())
def test_docstring_names_the_extra(script: str) -> None:
    source = (BENCH / script).read_text(encoding="utf-8")
    docstring = source.split('"""')[1]
    assert INSTALL in docstring.split("\n\n")[1], "the install line belongs in the usage block"


def test_every_needed_package_is_in_the_bench_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = {Requirement(r).name for r in pyproject["project"]["optional-dependencies"]["bench"]}
    assert set(PROVIDERS) <= extra
    assert {blocked for blocked, _, _ in CASES.values()} <= set(PROVIDERS)

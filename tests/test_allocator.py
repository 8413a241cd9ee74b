"""The command's processes keep freed memory for reuse (glibc), unless the environment says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's allocator settings: Linux only"
)

# An explanation's pattern in small: arrays of a few megabytes, allocated and freed in turn.
PATTERN = """
import resource, sys
import numpy as np
from limecli.allocator import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(200):
    n = 5000 if i % 3 else 10000
    a = np.ones((n, 30)); b = a * 2.0; c = np.ones((n, 11), order="F"); del a
    d = b @ np.ones((30, 30)); del b, c, d
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    out = subprocess.run(
        [sys.executable, "-c", PATTERN, mode],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0], int(out[1])


def test_freed_memory_is_reused_instead_of_faulted_in_again() -> None:
    kept, faults_kept = _faults("keep")
    if kept != "True":
        pytest.skip("not glibc")
    _, faults_default = _faults("default")
    # Measured: ~94,000 page faults with glibc's defaults, ~2,600 kept.
    assert faults_kept * 5 < faults_default


def test_an_allocator_setting_in_the_environment_wins() -> None:
    kept, faults = _faults("keep", MALLOC_TRIM_THRESHOLD_="65536")
    assert kept == "False"  # the user's (or Dask's) setting is left alone
    _, faults_kept = _faults("keep")
    assert faults > faults_kept


def test_the_command_keeps_freed_memory_and_the_library_does_not() -> None:
    script = """
import limecli.allocator as allocator
calls = []
allocator.keep_freed_memory = lambda: calls.append(1) or True
import sys
import numpy as np
import pandas as pd
from limecli import TabularExplainer
frame = pd.DataFrame({"a": range(50), "b": range(50)})
TabularExplainer(lambda x: np.asarray(x, dtype=float)[:, :1], frame, mode="regression").explain(
    frame.iloc[0], num_samples=200)
print("library", len(calls), file=sys.stderr)
from limecli.cli import main
for args in (["--help"], ["tabular", "--help"], sys.argv[1:]):
    sys.argv = ["limecli", *args]
    try:
        main()
    except SystemExit:
        pass
    print("command", args[-1], len(calls), file=sys.stderr)
"""
    command = [
        str(ROOT / "sample_models" / "breast_cancer_rf.joblib"),
        str(ROOT / "sample_data" / "breast_cancer_test.csv"),
        "--row",
        "0",
        "--num-samples",
        "200",
    ]
    result = subprocess.run(
        [sys.executable, "-c", script, "tabular", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "library 0" in result.stderr
    # Help prints and exits: not worth importing ctypes for (4 ms of a 0.2 s --help).
    assert (
        result.stderr.count("command --help 0") == 2
    )  # `limecli --help`, `limecli tabular --help`
    assert "command 200 1" in result.stderr
    assert '"label"' in result.stdout  # the explanation did run

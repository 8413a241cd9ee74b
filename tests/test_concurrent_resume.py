"""Concurrent and resumed batches (issue 17, family 4).

Two runs on one output: the second is refused at once (exit 7), the first
finishes with all its records. A resume with other settings than the file
was written with is refused before any work (exit 2, naming what differs);
with the same settings it resumes as before. The lock dies with its process,
a ``kill -9`` included.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limecli.batch import open_sink
from limecli.batch.fingerprint import batch_settings, read_settings, settings_path
from limecli.errors import OutputWriteError

FAST = ("--num-samples", "60", "--num-features", "2", "-q")
#: A predict script that takes DELAY seconds a call (from the environment: the same file,
#: so the same fingerprint, can be slow for one run and quick for the next), and leaves a
#: mark when it is imported (to tell whether a refused run got as far as loading it).
SCRIPT = """
import os, pathlib, time
import numpy as np

if "MARK_FILE" in os.environ:
    pathlib.Path(os.environ["MARK_FILE"]).touch()

def predict(batch):
    time.sleep(float(os.environ.get("DELAY", "0")))
    a = np.asarray(batch, dtype=float)[:, 0]
    p = 1 / (1 + np.exp(-a))
    return np.column_stack([1 - p, p])
"""
ROWS = 8


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "model.py").write_text(SCRIPT)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(30, 3)).round(3), columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "data.csv", index=False)
    return {"dir": tmp_path, "model": tmp_path / "model.py", "data": tmp_path / "data.csv"}


def command(files: dict[str, Path], out: Path, *args: object) -> list[str]:
    return [
        sys.executable,
        "-m",
        "limecli",
        "tabular",
        f"{files['model']}:predict",
        str(files["data"]),
        "--rows",
        f"0:{ROWS}",
        "--independent-samples",
        *FAST,
        "-o",
        str(out),
        *map(str, args),
    ]


def env(delay: float) -> dict[str, str]:
    return {**os.environ, "DELAY": str(delay), "PYTHONUNBUFFERED": "1"}


def start_slow(files: dict[str, Path], out: Path, *args: object) -> subprocess.Popen[str]:
    """A run that takes about a second per row, once it holds the output (its settings file,
    written under the lock, is there)."""
    proc = subprocess.Popen(
        command(files, out, *args),
        env=env(1.0),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not settings_path(out).exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first run never opened its output"
        time.sleep(0.05)
    return proc


def rows_in(out: Path) -> list[int]:
    return [json.loads(line)["input"]["row"] for line in out.read_text().splitlines()]


def assert_refused(done: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert fragment in lines[0], lines[0]


# -- two writers ------------------------------------------------------------------------------
def test_a_second_writer_is_refused_at_once_and_the_first_keeps_all_its_records(
    files: dict[str, Path],
) -> None:
    out = files["dir"] / "out.jsonl"
    first = start_slow(files, out)
    try:
        for extra in ((), ("--resume",)):
            second = subprocess.run(
                command(files, out, *extra), env=env(0), capture_output=True, text=True, timeout=120
            )
            assert_refused(second, 7, "is being written by another limecli run")
            # Refused without waiting for the first run to end.
            assert first.poll() is None, "the first run ended before the second was refused"
        _, stderr = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 0, stderr
    assert rows_in(out) == list(range(ROWS))
    assert sorted(p.name for p in files["dir"].iterdir() if p.name.startswith(("out", ".out"))) == [
        "out.jsonl",
        "out.jsonl.limecli",
    ]


def test_the_lock_dies_with_a_killed_run_and_resume_finishes_its_work(
    files: dict[str, Path],
) -> None:
    out = files["dir"] / "out.jsonl"
    first = start_slow(files, out)
    deadline = time.monotonic() + 60
    while not out.read_text().count("\n"):  # at least one record written
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first run wrote no record"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the OOM killer: no cleanup at all
    first.communicate(timeout=30)
    resumed = subprocess.run(
        command(files, out, "--resume"), env=env(0), capture_output=True, text=True, timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr
    assert rows_in(out) == list(range(ROWS))


# -- resume: the same settings or none --------------------------------------------------------
def _run(run_cli, files: dict[str, Path], out: Path, *args: object, rows: str = "0:2") -> object:
    return run_cli(
        "tabular", f"{files['model']}:predict", files["data"], "--rows", rows, *FAST, "-o", out,
        *args,
    )  # fmt: skip


def test_resume_with_the_same_settings_appends_as_before(run_cli, files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    assert _run(run_cli, files, out, "--seed", 4).exit_code == 0
    recorded = read_settings(out)
    assert recorded is not None and recorded["seed"] == 4 and recorded["kind"] == "tabular"
    resumed = _run(run_cli, files, out, "--seed", 4, "--resume", rows="0:5")
    assert resumed.exit_code == 0, resumed.stderr
    whole = files["dir"] / "whole.jsonl"
    assert _run(run_cli, files, whole, "--seed", 4, rows="0:5").exit_code == 0
    assert out.read_bytes() == whole.read_bytes()
    assert read_settings(out) == recorded


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("--seed", 1), "--seed 0 (now 1)"),
        (("--num-samples", 70), "--num-samples 60 (now 70)"),
        (("--label", "1"), '--label [] (now ["1"])'),
        (("--kernel-width", 0.5), "--kernel-width not set (now 0.5)"),
    ],
)
@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_resume_with_other_settings_is_refused_before_the_model_loads(
    run_cli, files: dict[str, Path], monkeypatch, change: tuple, named: str, suffix: str
) -> None:
    out = files["dir"] / f"out.{suffix}"
    assert _run(run_cli, files, out).exit_code == 0
    before = out.read_bytes(), settings_path(out).read_bytes()
    mark = files["dir"] / "imported"
    monkeypatch.setenv("MARK_FILE", str(mark))
    refused = _run(run_cli, files, out, *change, "--resume", rows="0:4")
    assert refused.exit_code == 2, refused.stderr
    assert refused.stdout == "" and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("Error: cannot resume") and named in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert (out.read_bytes(), settings_path(out).read_bytes()) == before
    assert not mark.exists(), "the model was loaded before the refusal"


def test_resume_with_another_model_is_refused(run_cli, files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    assert _run(run_cli, files, out).exit_code == 0
    files["model"].write_text(SCRIPT.replace("1 / (1 + np.exp(-a))", "1 / (1 + np.exp(-2 * a))"))
    refused = _run(run_cli, files, out, "--resume", rows="0:4")
    assert refused.exit_code == 2
    assert "the model (another file, or the file changed)" in refused.stderr


def test_a_file_without_settings_resumes_with_a_note_and_is_checked_from_then_on(
    run_cli, files: dict[str, Path]
) -> None:
    out = files["dir"] / "out.jsonl"
    assert _run(run_cli, files, out).exit_code == 0
    settings_path(out).unlink()  # as an older limecli left it
    resumed = run_cli(
        "tabular", f"{files['model']}:predict", files["data"], "--rows", "0:4",
        "--num-samples", "60", "--num-features", "2", "-o", out, "--resume",
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.stderr
    assert "has no record of the settings it was written with" in resumed.stderr
    assert len(out.read_text().splitlines()) == 4
    assert read_settings(out) is not None
    assert _run(run_cli, files, out, "--seed", 9, "--resume", rows="0:6").exit_code == 2


def test_a_fresh_run_records_its_own_settings(run_cli, files: dict[str, Path]) -> None:
    out = files["dir"] / "out.csv"
    assert _run(run_cli, files, out).exit_code == 0
    assert _run(run_cli, files, out, "--seed", 2).exit_code == 0  # replaces the file
    assert read_settings(out)["seed"] == 2  # type: ignore[index]
    resumed = _run(run_cli, files, out, "--seed", 2, "--resume", rows="0:3")
    assert resumed.exit_code == 0, resumed.stderr


def test_settings_leave_out_what_cannot_change_a_record(files: dict[str, Path]) -> None:
    common = {"model": f"{files['model']}:predict", "data": str(files["data"]), "seed": 0}
    quick = batch_settings("tabular", {**common, "jobs": 1, "rows": "0:2", "quiet": False})
    other = batch_settings(
        "tabular", {**common, "jobs": 4, "rows": "0:9", "quiet": True, "timeout": 9.0}
    )
    assert quick == other
    # A copy of the model elsewhere is the same model; DATA stands for the training data.
    copy = files["dir"] / "copy.py"
    copy.write_text(SCRIPT)
    moved = batch_settings("tabular", {**common, "model": f"{copy}:predict"})
    assert moved == quick
    assert quick["train"].startswith("sha256:")


# -- the library --------------------------------------------------------------------------------
def test_open_sink_holds_the_file_until_closed(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    sink, _ = open_sink("jsonl", out, kind="tabular")
    with pytest.raises(OutputWriteError, match="being written by another limecli run"):
        open_sink("jsonl", out, kind="tabular")
    with pytest.raises(OutputWriteError):
        open_sink("jsonl", out, kind="tabular", resume=True)
    sink.close(True)
    again, _ = open_sink("jsonl", out, kind="tabular")
    again.close(True)


def test_a_failed_run_lets_go_of_its_output(run_cli, files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    (files["dir"] / "bad.py").write_text("def predict(batch):\n    raise RuntimeError('no')\n")
    failed = run_cli(
        "tabular", f"{files['dir'] / 'bad.py'}:predict", files["data"], "--rows", "0:2",
        "--independent-samples", *FAST, "-o", out,
    )  # fmt: skip
    assert failed.exit_code in (5, 6), failed.stderr
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the run still held it
    finally:
        os.close(fd)


def test_a_symlink_and_its_target_share_one_lock_and_one_settings_file(tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(target.name)
    settings = {"kind": "tabular", "seed": 0}
    sink, _ = open_sink("jsonl", target, kind="tabular", settings=settings)
    try:
        with pytest.raises(OutputWriteError):
            open_sink("jsonl", link, kind="tabular", settings=settings)
        assert settings_path(link) == settings_path(target)
    finally:
        sink.close(True)

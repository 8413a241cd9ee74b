"""Signals and worker processes (issue 17, family 3): SIGTERM is handled like Ctrl-C, workers
die with their parent, and a worker killed by its model becomes error records.

These run ``python -m limecli`` in a subprocess: signals, process trees and crashes
cannot be tried in-process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from limecli.batch import BatchInput, InputRef, run_chunk
from limecli.batch import workers as batch_workers
from limecli.batch.executors import crash_message

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")

# Each call logs its pid; `slow` sleeps once AFTER calls were logged; `crashy` kills its
# process on the row whose `a` is 3.5 (segfault) or 5.5 (C-level exit(3), no Python cleanup),
# and raises KeyboardInterrupt on 6.5.
MODEL = """
import ctypes
import os
import time
import warnings

import numpy as np

LOG = os.environ["LIMECLI_TEST_LOG"]
AFTER = int(os.environ.get("LIMECLI_TEST_AFTER", "0"))


def ok(batch):
    a = np.asarray(batch, dtype=float)[:, 0]
    p = 1 / (1 + np.exp(-a / 4))
    return np.column_stack([1 - p, p])


def _calls():
    with open(LOG, "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    with open(LOG) as handle:
        return len(handle.read().split())


def slow(batch):
    if _calls() > AFTER:
        time.sleep(120)
    return ok(batch)


def crashy(batch):
    warnings.warn("calibration is approximate")
    a = np.asarray(batch, dtype=float)[:, 0]
    if np.any(a == 3.5):
        ctypes.string_at(0)
    if np.any(a == 5.5):
        ctypes.CDLL(None)._exit(3)
    if np.any(a == 6.5):
        raise KeyboardInterrupt  # its own: not the user's Ctrl-C
    return ok(batch)


def raises(batch):
    a = np.asarray(batch, dtype=float)[:, 0]
    if np.any(a == 3.5) or np.any(a == 5.5) or np.any(a == 6.5):
        raise RuntimeError("boom")
    return ok(batch)


def always(batch):
    ctypes.string_at(0)
"""

FAST = ("--num-samples", "40", "--num-features", "2", "-q")
#: A batch whose rows each draw their own sample: the model is called only in the workers.
BATCH = ("--all", "--independent-samples")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "model.py").write_text(MODEL)
    rows = ["a,b,c"] + [f"{i + 0.5},{(i * 7) % 5 - 2},{(i * 3) % 4}" for i in range(16)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    return {"dir": tmp_path, "model": tmp_path / "model.py", "data": tmp_path / "data.csv"}


def _command(files: dict[str, Path], function: str, *args: object) -> list[str]:
    return [
        sys.executable,
        "-m",
        "limecli",
        "tabular",
        f"{files['model']}:{function}",
        str(files["data"]),
        *FAST,
        *(str(a) for a in args),
    ]


def _start(
    files: dict[str, Path], function: str, *args: object, after: int = 0, session: bool = False
) -> Any:
    log = files["dir"] / "calls.log"
    env = {**os.environ, "LIMECLI_TEST_LOG": str(log), "LIMECLI_TEST_AFTER": str(after)}
    return subprocess.Popen(
        _command(files, function, *args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=session,  # its own process group, as a terminal's foreground job
    )


def _run(files: dict[str, Path], function: str, *args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIMECLI_TEST_LOG": str(files["dir"] / "calls.log")}
    return subprocess.run(
        _command(files, function, *args), env=env, capture_output=True, text=True, timeout=300
    )


def _callers(files: dict[str, Path]) -> list[int]:
    """Pids that called the model, one per call."""
    log = files["dir"] / "calls.log"
    return [int(p) for p in log.read_text().split()] if log.exists() else []


def _wait_for(condition: Any, proc: Any, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"limecli ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:  # a thread that just ended; or a kernel without the file
            continue
    return found


def _descendants(pid: int) -> Iterator[int]:
    for child in _children(pid):
        yield child
        yield from _descendants(child)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _survivors(pids: list[int], within: float) -> list[int]:
    """Which of ``pids`` still run after ``within`` seconds (those are then killed: a failed
    test leaves nothing behind)."""
    deadline = time.monotonic() + within
    while True:
        alive = [p for p in pids if _alive(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return alive


def _only_error_line(stderr: str, fragment: str) -> None:
    assert "Traceback" not in stderr and "Fatal Python error" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert fragment in lines[0], lines[0]


def _whole_records(path: Path) -> list[dict[str, Any]]:
    data = path.read_text()
    assert data == "" or data.endswith("\n"), "a record was cut"
    return [json.loads(line) for line in data.splitlines()]


needs_proc = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task").is_dir(), reason="needs /proc to find workers"
)


# -- SIGTERM -------------------------------------------------------------------------------------
def test_sigterm_stops_a_single_run_like_ctrl_c(files: dict[str, Path]) -> None:
    out = files["dir"] / "out.json"
    proc = _start(files, "slow", "--row", "0", "-o", out)
    _wait_for(lambda: _callers(files), proc, "the model to be called")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stdout == ""
    assert stderr == "Error: terminated (SIGTERM)\n"
    assert sorted(p.name for p in files["dir"].iterdir()) == ["calls.log", "data.csv", "model.py"]


def test_sigterm_keeps_the_whole_records_of_a_serial_batch(files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    proc = _start(files, "slow", *BATCH, "-o", out, after=4)
    _wait_for(lambda: len(_callers(files)) > 4, proc, "the model to slow down")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stdout == ""
    records = _whole_records(out)
    _only_error_line(
        stderr,
        f"terminated (SIGTERM); {out} keeps {len(records)} whole record(s): "
        "rerun with --resume to go on",
    )
    assert 1 <= len(records) < 16
    assert [r["input"]["row"] for r in records] == list(range(len(records)))
    assert all("error" not in r for r in records)


@needs_proc
def test_sigterm_to_a_parallel_batch_stops_its_workers(files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    proc = _start(files, "slow", *BATCH, "--jobs", "2", "-o", out)
    _wait_for(lambda: len(set(_callers(files)) - {proc.pid}) >= 2, proc, "two busy workers")
    family = list(_descendants(proc.pid))
    assert len(family) >= 2
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert stdout == ""
    _only_error_line(stderr, "terminated (SIGTERM)")
    assert _survivors(family, within=10) == []
    _whole_records(out)


@needs_proc
def test_ctrl_c_in_a_terminal_stops_a_parallel_batch_quietly(files: dict[str, Path]) -> None:
    """A terminal sends SIGINT to the whole process group: workers leave it to the parent."""
    out = files["dir"] / "out.jsonl"
    proc = _start(files, "slow", *BATCH, "--jobs", "2", "-o", out, session=True)
    _wait_for(lambda: len(set(_callers(files)) - {proc.pid}) >= 2, proc, "two busy workers")
    family = list(_descendants(proc.pid))
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stdout == ""
    _only_error_line(stderr, "interrupted")
    assert _survivors(family, within=10) == []


# -- the parent killed outright ------------------------------------------------------------------
@needs_proc
def test_workers_die_with_a_killed_parent(files: dict[str, Path]) -> None:
    """kill -9 (the OOM killer) leaves no handler to run: the workers must notice."""
    proc = _start(files, "slow", *BATCH, "--jobs", "2", "-o", files["dir"] / "out.jsonl")
    _wait_for(lambda: len(set(_callers(files)) - {proc.pid}) >= 2, proc, "two busy workers")
    family = list(_descendants(proc.pid))
    workers = set(_callers(files)) - {proc.pid}
    assert workers <= set(family)
    proc.kill()
    proc.communicate(timeout=60)
    assert _survivors(family, within=10) == []


def test_a_worker_whose_parent_is_gone_ends_itself(tmp_path: Path) -> None:
    """The watch thread alone (no prctl): a process whose parent ends, ends within a second."""
    script = tmp_path / "orphan.py"
    script.write_text(
        "import os, time\n"
        "from limecli.batch import workers\n"
        "workers._kernel_kills_orphan = lambda: None\n"
        "parent = os.getpid()\n"
        "if os.fork():\n"
        "    time.sleep(1)\n"
        "    os._exit(0)\n"
        "workers.worker_setup(parent)\n"
        "print(os.getpid(), flush=True)\n"
        "null = os.open(os.devnull, os.O_WRONLY)\n"
        "os.dup2(null, 1)\n"
        "os.dup2(null, 2)\n"
        "time.sleep(60)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    orphan = int(done.stdout.split()[0])
    assert _survivors([orphan], within=5) == []


# -- a worker killed by its model ----------------------------------------------------------------
def test_a_crashed_worker_becomes_error_records_and_the_batch_goes_on(
    run_cli: Any, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = files["dir"] / "crashed.jsonl"
    rows = ("--rows", "0:8", "--independent-samples")  # one chunk; crashes in rows 3, 5
    done = _run(files, "crashy", *rows, "--jobs", "2", "-o", crashed)
    assert done.returncode == 6, done.stderr
    # The model's warning, raised in every worker, is shown once, as a run in one process does.
    assert done.stderr.splitlines() == [
        "Warning: calibration is approximate",
        f"Error: 3 of 8 input(s) failed; each has an error record in {crashed}",
    ]
    records = _whole_records(crashed)
    assert [r["input"]["row"] for r in records] == list(range(8))
    assert records[3]["error"] == {
        "type": "PredictorCallError",
        "message": "the model crashed the worker process (signal 11, SIGSEGV)",
        "exit_code": 5,
    }
    assert records[5]["error"]["message"] == "the model ended the worker process (exit code 3)"
    assert "KeyboardInterrupt" in records[6]["error"]["message"]
    # Every other input is explained as if nothing had happened (jobs 1, in this process).
    expected = files["dir"] / "expected.jsonl"
    monkeypatch.setenv("LIMECLI_TEST_LOG", str(files["dir"] / "calls.log"))
    result = run_cli(
        "tabular", f"{files['model']}:raises", files["data"], *FAST, *rows, "-o", expected
    )
    assert result.exit_code == 6, result.stderr
    same = [r for r in _whole_records(expected) if r["input"]["row"] not in (3, 5, 6)]
    got = [r for r in records if r["input"]["row"] not in (3, 5, 6)]
    for record in (*same, *got):
        record["meta"].pop("model")  # the function's name
    assert got == same


def test_a_model_that_crashes_every_worker_stops_the_batch(files: dict[str, Path]) -> None:
    out = files["dir"] / "out.jsonl"
    done = _run(files, "always", "--rows", "0:8", "--independent-samples", "--jobs", "2", "-o", out)
    assert done.returncode == 5, done.stderr
    _only_error_line(done.stderr, "(signal 11, SIGSEGV) on each of the first 3 inputs")
    assert len(_whole_records(out)) <= 3


# -- in-process pieces ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "The exit codes of the workers are {SIGSEGV(-11)}",
            "crashed the worker process (signal 11, SIGSEGV)",
        ),
        ("The exit codes of the workers are {EXIT(3)}", "ended the worker process (exit code 3)"),
        (
            "The exit codes of the workers are {SIGKILL(-9)}",
            "(signal 9, SIGKILL), often for lack of memory",
        ),
        ("something else", "the worker process running the model died"),
    ],
)
def test_crash_message(text: str, message: str) -> None:
    assert message in crash_message(text)


def _warning_work(chunk: list[BatchInput]) -> list[Any]:
    class Local(UserWarning):  # cannot be pickled back to the parent
        pass

    warnings.warn("shared", UserWarning, stacklevel=1)
    warnings.warn("local", Local, stacklevel=1)
    return ["record"]


def test_a_workers_warnings_travel_with_its_records() -> None:
    records, caught = batch_workers.WithWarnings(_warning_work)([])
    assert records == ["record"]
    assert [(type(w), str(w)) for w in caught] == [(UserWarning, "shared"), (UserWarning, "local")]
    seen: set[tuple[type, str]] = set()
    with pytest.warns(UserWarning) as shown:
        batch_workers.relay(caught, seen)
        batch_workers.relay(caught, seen)  # another chunk's: already shown
    assert [str(w.message) for w in shown] == ["shared", "local"]


def _interrupting(chunk: list[BatchInput]) -> list[Any]:
    raise KeyboardInterrupt


def test_a_keyboard_interrupt_in_a_worker_is_the_inputs_failure(monkeypatch) -> None:
    chunk = [BatchInput(InputRef.row("x.csv", 0)), BatchInput(InputRef.row("x.csv", 1))]
    with pytest.raises(KeyboardInterrupt):  # in the batch's own process: the user's Ctrl-C
        run_chunk(_interrupting, "tabular", chunk)
    monkeypatch.setattr(batch_workers, "_parent", os.getppid())
    records = run_chunk(_interrupting, "tabular", chunk)
    assert [r["error"]["message"] for r in records] == [
        "KeyboardInterrupt raised in the worker process"
    ] * 2
    assert {r["error"]["exit_code"] for r in records} == {5}

"""Runs the golden corpus (``corpus.py``) and records what each command does.

Run as a script by ``tests/test_golden_corpus.py`` and ``tests/golden/regenerate.py``::

    python tests/golden/runner.py OUT_DIR [--no-fork] [CASE ...]

It drives the command line only (``python -m limecli``), never limecli's internals, so
the same corpus runs against any version of the package: the one on ``PYTHONPATH``, or
the installed one. Each case runs in a fresh temporary folder holding copies of
``sample_data/``, ``sample_models/`` and ``examples/``, with relative paths, so the
paths printed are the same on every machine and nothing is written into the repository.

For each case, ``OUT_DIR/<case>/`` gets ``case.json`` (arguments, exit codes, stderr,
the list of files written), ``stdout-<n>`` per command and ``files/<path>`` for every
file the commands created or changed, after the normalisations below.

Speed: starting Python and importing scikit-learn costs about 2 s, more than most
cases. So by default one process imports the heavy third-party libraries once and
forks a child per command; the child points fds 0-2 at files, sets ``sys.argv`` and
the environment and runs ``limecli`` as ``python -m limecli`` would (``runpy``), then
shuts down as an interpreter does (thread joins, atexit, flush) and exits with the
command's code. ``--no-fork`` runs every command as a real ``python -m limecli``
subprocess instead; ``regenerate.py --check-modes`` checks both give the same bytes.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: Set in the driver's own environment once it runs under the pinned one (see main).
DRIVER_MARK = "LIMECLI_GOLDEN_DRIVER"
#: Copied into every case's folder (small: about 1 MB in all).
SAMPLES = ("sample_data", "sample_models", "examples")
#: Seconds a command may take (the slowest takes a few): a hung one is killed and recorded.
COMMAND_TIMEOUT = 120


def _load(name: str, path: Path) -> ModuleType:
    """Import a file of this folder by path (``tests/golden`` is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


corpus = _load("golden_corpus", HERE / "corpus.py")


# -- the environment every command sees ----------------------------------------------
def command_env() -> dict[str, str]:
    """The caller's environment with what shapes output pinned (documented in the test)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LIMECLI_", "FORCE_COLOR", "NO_COLOR", "CLICOLOR", "TTY_", "JPY_"))
        and k not in {"COLUMNS", "LINES", "TERM", "PYTHONWARNINGS", "PYTHONSTARTUP"}
    }
    env.update(
        {
            # rich draws the (final) progress line this wide when stderr is not a terminal
            "COLUMNS": "80",
            "LINES": "25",
            "TERM": "dumb",
            # same text encoding on every machine; the corpus has Korean text
            "LC_ALL": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONHASHSEED": "0",
            # one BLAS thread: float sums do not depend on the machine's core count
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


# -- normalisation --------------------------------------------------------------------
# Library versions recorded in an explanation's meta (JSON) and shown in HTML reports.
_VERSION_JSON = re.compile(r'("(?:limecli|numpy|scikit-learn)"\s*:\s*")[^"]*(")')
_VERSION_TEXT = re.compile(r"\b(limecli|numpy|scikit-learn) \d+\.\d+[0-9A-Za-z.+-]*")
# rich's progress line: "<kind> ━━━━ 6/6 12.3/s 0:00:02 ETA 0:00:00"
_PROGRESS = re.compile(r"^(?P<head>.*━.* \d+/\d+ )(?P<tail>.*)$", re.MULTILINE)
_RATE = re.compile(r"(?:\d+(?:\.\d+)?|-)/s")
_CLOCK = re.compile(r"-?\d*:\d\d:\d\d|-:--:--")


# Plain progress lines (stderr not a terminal): the steps depend on run time, the last on the clock.
_PLAIN_STEP = re.compile(
    r"^\w+: \d+(?:/\d+)? \w+ \((?:-|\d+\.\d)/s\)(?:, ETA \S+)?\n", re.MULTILINE
)
_PLAIN_LAST = re.compile(r"^(\w+: \d+(?:/\d+)? \w+) in \S+(?: \(\d+\.\d/s\))?$", re.MULTILINE)


def normalise(data: bytes, tmp: str) -> bytes:
    """Blank what varies by machine or library version; binary data is kept as it is."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    for folder in {tmp, os.path.realpath(tmp)}:
        text = text.replace(folder, "<TMP>")
    text = _VERSION_JSON.sub(r"\1<version>\2", text)
    text = _VERSION_TEXT.sub(r"\1 <version>", text)
    text = _PLAIN_STEP.sub("", text)
    text = _PLAIN_LAST.sub(r"\1 in <time>", text)
    text = _PROGRESS.sub(
        lambda m: m["head"] + _CLOCK.sub("<time>", _RATE.sub("<rate>", m["tail"])), text
    )
    return text.encode("utf-8")


# -- running ---------------------------------------------------------------------------
def prewarm() -> None:
    """Import the heavy third-party libraries once, before forking (never limecli's internals)."""
    import importlib

    for name in (
        "numpy",
        "scipy.stats",
        "pandas",
        "joblib",
        "sklearn.ensemble",
        "sklearn.linear_model",
        "sklearn.pipeline",
        "sklearn.compose",
        "sklearn.preprocessing",
        "sklearn.feature_extraction.text",
        "PIL.Image",
        "skimage.segmentation",
        "rich.progress",
        "click",
        "tomllib",
    ):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _run_forked(
    args: Sequence[str], cwd: Path, env: dict[str, str], stdin: Path, out: Path, err: Path
) -> int | str:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: become `python -m limecli ARGS` in cwd
        code = 1
        try:
            os.setpgid(0, 0)  # its own process group, so a hung command can be killed whole
            os.chdir(cwd)
            for fd, (path, flags) in enumerate(
                ((stdin, os.O_RDONLY), (out, os.O_WRONLY), (err, os.O_WRONLY))
            ):
                opened = os.open(path, flags)
                os.dup2(opened, fd)
                os.close(opened)
            os.environ.clear()
            os.environ.update(env)
            sys.argv = ["limecli", *args]
            sys.path[0] = str(cwd)  # as `python -m` puts the working folder first
            # a fresh process writing to a file buffers stdout by blocks
            sys.stdout.reconfigure(line_buffering=False)  # type: ignore[union-attr]
            import runpy

            try:
                runpy.run_module("limecli", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if e.code is not None and not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            # what the interpreter does on exit: join threads (and joblib's pools), atexit
            import atexit
            import threading

            threading._shutdown()  # type: ignore[attr-defined]
            atexit._run_exitfuncs()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        finally:
            os._exit(code)
    with contextlib.suppress(OSError):  # also here: whichever of the two runs first
        os.setpgid(pid, pid)
    return _wait(pid, lambda: _poll_child(pid))


def _poll_child(pid: int) -> int | None:
    done, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def _wait(group: int, poll: Callable[[], int | None]) -> int | str:
    """The command's exit code; past ``COMMAND_TIMEOUT`` its process group is killed."""
    deadline = time.monotonic() + COMMAND_TIMEOUT
    delay = 0.001
    while (code := poll()) is None:
        if time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
            while poll() is None:
                time.sleep(0.01)
            return f"killed: no exit within {COMMAND_TIMEOUT} s"
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    return code


def _run_subprocess(
    args: Sequence[str], cwd: Path, env: dict[str, str], stdin: Path, out: Path, err: Path
) -> int | str:
    with stdin.open("rb") as i, out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-m", "limecli", *args],
            cwd=cwd,
            env=env,
            stdin=i,
            stdout=o,
            stderr=e,
            start_new_session=True,
        )
        return _wait(proc.pid, proc.poll)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def run_case(case: Any, out_dir: Path, *, fork: bool = True) -> None:
    """Run ``case`` in a fresh folder and record it under ``out_dir/case.name``."""
    env = command_env()
    run = _run_forked if fork else _run_subprocess
    record = out_dir / case.name
    if record.exists():
        shutil.rmtree(record)
    record.mkdir(parents=True)
    # mkdtemp, not TemporaryDirectory: a forked child runs the atexit hooks, and
    # TemporaryDirectory's finalizer there would delete the folders under us.
    tmp_name = tempfile.mkdtemp(prefix="limecli-golden-")
    io_name = tempfile.mkdtemp(prefix="limecli-golden-io-")
    try:
        tmp = Path(tmp_name)
        for name in SAMPLES:
            shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
        before = _snapshot(tmp)
        commands: list[dict[str, object]] = []
        for step in case.steps:
            if isinstance(step, corpus.Write):
                target = tmp / step.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step.text, encoding="utf-8")
                before[step.path] = hashlib.sha256(target.read_bytes()).hexdigest()
                continue
            if isinstance(step, corpus.Cut):
                target = tmp / step.path
                lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
                rest = "".join(lines[step.lines :])
                target.write_text(
                    "".join(lines[: step.lines]) + rest[: step.extra], encoding="utf-8"
                )
                continue
            n = len(commands) + 1
            io = Path(io_name)
            stdin, out, err = io / f"in{n}", io / f"out{n}", io / f"err{n}"
            stdin.write_bytes((step.stdin or "").encode("utf-8"))
            out.touch()
            err.touch()
            code = run(step.args, tmp, env, stdin, out, err)
            stdout_name = f"stdout-{n}"
            (record / stdout_name).write_bytes(normalise(out.read_bytes(), tmp_name))
            entry: dict[str, object] = {"args": list(step.args)}
            if step.stdin is not None:
                entry["stdin"] = step.stdin
            entry.update(
                {
                    "exit_code": code,
                    "stdout": stdout_name,
                    "stderr": normalise(err.read_bytes(), tmp_name).decode("utf-8", "replace"),
                }
            )
            commands.append(entry)
        after = _snapshot(tmp)
        written = sorted(p for p, digest in after.items() if before.get(p) != digest)
        removed = sorted(p for p in before if p not in after)
        for path in written:
            target = record / "files" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(normalise((tmp / path).read_bytes(), tmp_name))
    finally:
        shutil.rmtree(tmp_name, ignore_errors=True)
        shutil.rmtree(io_name, ignore_errors=True)
    manifest = {"case": case.name, "commands": commands, "files": written, "removed": removed}
    (record / "case.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    fork = "--no-fork" not in args
    args = [a for a in args if a != "--no-fork"]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(args[0]).resolve()
    wanted = set(args[1:])
    unknown = wanted - {c.name for c in corpus.CASES}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    fork = fork and hasattr(os, "fork")
    if fork and os.environ.get(DRIVER_MARK) != "1":
        # Start again under the pinned environment: the hash seed and the BLAS thread
        # count are fixed when an interpreter starts, and forked children inherit them.
        env = {**command_env(), DRIVER_MARK: "1"}
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv], env)
    if fork:
        prewarm()
    for case in corpus.CASES:
        if not wanted or case.name in wanted:
            started = time.perf_counter()
            run_case(case, out_dir, fork=fork)
            print(f"{case.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


# -- comparing two records (used by the test and by regenerate.py) ----------------------
def case_files(folder: Path) -> dict[str, bytes]:
    """Every file of a recorded case, by path relative to it."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def compare(expected: Path, actual: Path, *, context: int = 3, limit: int = 40) -> list[str]:
    """Differences between two recordings of a case, each as a short unified diff."""
    want, got = case_files(expected), case_files(actual)
    problems = []
    for name in sorted(want.keys() | got.keys()):
        a, b = want.get(name), got.get(name)
        if a == b or (a is not None and b is not None and same_up_to_rounding(name, a, b)):
            continue
        if a is None or b is None:
            problems.append(f"{name}: {'missing' if b is None else 'unexpected'} in this run")
            continue
        try:
            a_text, b_text = a.decode("utf-8"), b.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(
                f"{name}: binary content differs ({len(a)} bytes, sha256 "
                f"{hashlib.sha256(a).hexdigest()[:12]} expected; {len(b)} bytes, "
                f"{hashlib.sha256(b).hexdigest()[:12]} now)"
            )
            continue
        diff = list(
            difflib.unified_diff(
                a_text.splitlines(keepends=True),
                b_text.splitlines(keepends=True),
                f"expected/{name}",
                f"now/{name}",
                n=context,
            )
        )
        shown = _clip(diff, limit)
        problems.append("".join(line if line.endswith("\n") else line + "\n" for line in shown))
    return problems


#: A decimal number as Python, numpy and the renderers write one (JSON, CSV, HTML, tables).
_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
#: How far two recordings' numbers may differ and still be the same result: the last bits
#: of a float sum or BLAS product differ from one CPU to another (seen: an AVX2 machine
#: against those the corpus was recorded on), whose kernels in numpy and OpenBLAS differ.
ROUNDING = 1e-9


def same_up_to_rounding(name: str, a: bytes, b: bytes) -> bool:
    """Whether two files differ only in the last bits of their numbers: the text around
    the numbers equal, each number within :data:`ROUNDING` (relative) of the other; a
    ``.npy`` array likewise. Anything else (an image, a changed word) must be identical."""
    if name.endswith(".npy"):
        import io

        import numpy as np

        x, y = np.load(io.BytesIO(a)), np.load(io.BytesIO(b))
        return x.shape == y.shape and x.dtype == y.dtype and _close(x.ravel(), y.ravel())
    try:
        a_text, b_text = a.decode("utf-8"), b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if _NUMBER.split(a_text) != _NUMBER.split(b_text):
        return False
    x = [float(v) for v in _NUMBER.findall(a_text)]
    y = [float(v) for v in _NUMBER.findall(b_text)]
    return len(x) == len(y) and _close(x, y)


def _close(x: Any, y: Any) -> bool:
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: equal, or not close
        near = np.abs(x - y) <= ROUNDING * np.maximum(np.abs(x), np.abs(y))
    return bool(np.all((x == y) | near))


def _clip(lines: list[str], limit: int) -> Iterator[str]:
    for i, line in enumerate(lines):
        if i == limit:
            yield f"... {len(lines) - limit} more diff lines\n"
            return
        yield line[:300]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

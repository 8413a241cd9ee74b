"""Hostile models: models that print, exit, or raise KeyboardInterrupt while loaded or called.

Loading a model and every call of it run fenced (limecli.model.guard): what the
model prints goes to stderr, never into the results on stdout; ``sys.exit``,
``os._exit`` and a KeyboardInterrupt the model raises itself are its errors
(exit 4 while loading, 5 while predicting), while a real Ctrl-C stays 130.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hostile import Case, check, params
from sklearn.linear_model import LogisticRegression

from limecli.errors import PredictorCallError

FAST = ("--num-samples", "80", "--num-features", "3")

SCRIPT = """
import os
import sys
import numpy as np

def ok(batch):
    a = np.asarray(batch, dtype=float)[:, 0]
    p = 1 / (1 + np.exp(-a))
    return np.column_stack([1 - p, p])

def prints(batch):
    print("predicting... done")
    return ok(batch)

def exit0(batch):
    sys.exit(0)

def exit7(batch):
    sys.exit(7)

def exit_message(batch):
    sys.exit("out of GPU memory")

def bare_exit(batch):
    raise SystemExit

def hard_exit(batch):
    os._exit(3)

def interrupts(batch):
    raise KeyboardInterrupt

class Stop(BaseException):
    pass

def base_exception(batch):
    raise Stop("worker told to stop")

def swallows_then_exits(batch):
    try:
        return ok(batch)
    finally:
        sys.exit(1)
"""

# Self-contained: a sibling module imported by name would stay in sys.modules.
OK = """
import numpy as np

def predict(batch):
    a = np.asarray(batch, dtype=float)[:, 0]
    p = 1 / (1 + np.exp(-a))
    return np.column_stack([1 - p, p])
"""
PRINTS_AT_IMPORT = 'print("loading weights... done")\n' + OK
EXITS_AT_IMPORT = "import sys\nsys.exit(3)\ndef predict(batch):\n    return batch\n"
HARD_EXIT_AT_IMPORT = "import os\nos._exit(2)\ndef predict(batch):\n    return batch\n"
INTERRUPTS_AT_IMPORT = "raise KeyboardInterrupt\ndef predict(batch):\n    return batch\n"
# A script written to be run alone: its arguments are parsed at import.
ARGPARSE_REQUIRED = (
    """
import argparse
parser = argparse.ArgumentParser(description="my model")
parser.add_argument("--weights", required=True)
ARGS = parser.parse_args()
"""
    + OK
)
ARGPARSE_PLAIN = (
    """
import argparse
ARGS = argparse.ArgumentParser(description="my model").parse_args()
"""
    + OK
)


class NoisyModel:
    """A pickled model that prints as it is unpickled and when it predicts."""

    def __init__(self, on_load: str = "print", on_predict: str = "print") -> None:
        self.on_load = on_load
        self.on_predict = on_predict

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        act(self.on_load, "unpickling: loading weights... done")

    def predict_proba(self, X: Any) -> np.ndarray:
        act(self.on_predict, "predict_proba: scoring... done")
        a = np.asarray(X, dtype=float)[:, 0]
        p = 1 / (1 + np.exp(-a))
        return np.column_stack([1 - p, p])


def act(how: str, text: str) -> None:
    if how == "print":
        print(text)
    elif how == "exit":
        sys.exit(7)
    elif how == "interrupt":
        raise KeyboardInterrupt
    # "none": quiet


def _call(name: str, *args: Any) -> bytes:
    """Pickle opcodes that call ``module.name(*args)`` on load (protocol 2, no STOP)."""
    module, _, attr = name.rpartition(".")
    out = f"c{module}\n{attr}\n".encode()
    for arg in args:
        if isinstance(arg, int):
            out += b"K" + bytes([arg])
        else:
            data = str(arg).encode()
            out += b"X" + struct.pack("<I", len(data)) + data
    return out + b"\x85R"  # TUPLE1, REDUCE


def _fitted() -> LogisticRegression:
    X = np.random.default_rng(0).normal(size=(40, 3))
    return LogisticRegression().fit(X, X[:, 0] > 0)


def raw_pickle(name: str, *calls: bytes) -> Any:
    """A pickle that makes ``calls`` (their results dropped) and then holds a fitted model."""

    def make(tmp: Path) -> tuple[Any, ...]:
        model = pickle.dumps(_fitted(), protocol=2)
        body = b"".join(call + b"0" for call in calls)  # POP each result
        (tmp / name).write_bytes(model[:2] + body + model[2:])
        return (tmp / name,)

    return make


def noisy_pickle(name: str, **how: str) -> Any:
    def make(tmp: Path) -> tuple[Any, ...]:
        with open(tmp / name, "wb") as f:
            pickle.dump(NoisyModel(**how), f)
        return (tmp / name,)

    return make


def script(function: str, *args: Any, module: str = "models.py") -> Any:
    return lambda tmp: (f"{tmp / module}:{function}", *args)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "models.py").write_text(SCRIPT)
    for name, text in {
        "prints_at_import.py": PRINTS_AT_IMPORT,
        "exits_at_import.py": EXITS_AT_IMPORT,
        "hard_exit_at_import.py": HARD_EXIT_AT_IMPORT,
        "interrupts_at_import.py": INTERRUPTS_AT_IMPORT,
        "argparse_required.py": ARGPARSE_REQUIRED,
        "argparse_plain.py": ARGPARSE_PLAIN,
    }.items():
        (tmp_path / name).write_text(text)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(30, 3)).round(3), columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "data.csv", index=False)
    return {"dir": tmp_path, "data": tmp_path / "data.csv"}


CASES = [
    # -- prints: on stderr, the results untouched (code 0: the note is the model's line)
    Case("script prints at import", script("predict", module="prints_at_import.py"), 0,
         "loading weights... done"),
    Case("script prints in predict", script("prints"), 0, "predicting... done"),
    Case("pickle prints as it loads", noisy_pickle("noisy.pkl"), 0,
         "unpickling: loading weights... done"),
    Case("joblib prints in predict_proba", noisy_pickle("noisy.joblib"), 0,
         "predict_proba: scoring... done"),
    Case("pickle calls print itself", raw_pickle("prints.pkl", _call("builtins.print", "hello")),
         0, "hello"),
    Case("script parses its (absent) arguments at import",
         script("predict", module="argparse_plain.py"), 0, ""),
    # -- exits and interrupts while predicting: the model's failure, exit 5
    Case("sys.exit(0) in predict", script("exit0"), 5, "called sys.exit(0) while predicting"),
    Case("sys.exit(7) in predict", script("exit7"), 5, "called sys.exit(7) while predicting"),
    Case("sys.exit(message) in predict", script("exit_message"), 5,
         "called sys.exit('out of GPU memory')"),
    Case("raise SystemExit in predict", script("bare_exit"), 5, "called sys.exit() while"),
    Case("os._exit(3) in predict", script("hard_exit"), 5, "called os._exit(3) while predicting"),
    Case("KeyboardInterrupt raised in predict", script("interrupts"), 5,
         "raised KeyboardInterrupt (not a Ctrl-C) while predicting"),
    Case("BaseException subclass in predict", script("base_exception"), 5,
         "raised Stop: worker told to stop while predicting"),
    Case("sys.exit in a finally after answering", script("swallows_then_exits"), 5,
         "called sys.exit(1)"),
    Case("sys.exit(7) in predict under --timeout", script("exit7", "--timeout", "30"), 5,
         "called sys.exit(7) while predicting"),
    Case("os._exit(3) in predict under --timeout", script("hard_exit", "--timeout", "30"), 5,
         "called os._exit(3) while predicting"),
    Case("KeyboardInterrupt in predict under --timeout", script("interrupts", "--timeout", "30"),
         5, "raised KeyboardInterrupt (not a Ctrl-C)"),
    Case("pickled model exits in predict_proba", noisy_pickle("m.pkl", on_predict="exit"), 5,
         "the model m.pkl called sys.exit(7) while predicting"),
    # -- exits and interrupts while loading: the model cannot be loaded, exit 4
    Case("script sys.exit(3) at import", script("predict", module="exits_at_import.py"), 4,
         "the model script exited while being imported (called sys.exit(3))"),
    Case("script os._exit(2) at import", script("predict", module="hard_exit_at_import.py"), 4,
         "exited while being imported (called os._exit(2))"),
    Case("script raises KeyboardInterrupt at import",
         script("predict", module="interrupts_at_import.py"), 4,
         "raised KeyboardInterrupt (not a Ctrl-C) while being imported"),
    Case("script runs argparse at import", script("predict", module="argparse_required.py"), 4,
         "is the model's own, not limecli's"),
    Case("pickle calls sys.exit(7) on load", raw_pickle("exits.pkl", _call("sys.exit", 7)), 4,
         "the model called sys.exit(7) while being loaded"),
    Case("joblib calls os._exit(3) on load", raw_pickle("exits.joblib", _call("os._exit", 3)), 4,
         "called os._exit(3) while being loaded"),
    Case("pickled class exits in __setstate__", noisy_pickle("m.pkl", on_load="exit"), 4,
         "called sys.exit(7) while being loaded"),
    Case("pickled class raises KeyboardInterrupt on load",
         noisy_pickle("m.joblib", on_load="interrupt"), 4,
         "raised KeyboardInterrupt (not a Ctrl-C) while being loaded"),
]  # fmt: skip


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_models(run_cli, files: dict[str, Path], case: Case) -> None:
    model, *args = case.make(files["dir"])
    output = files["dir"] / "out.json"
    argv0 = list(sys.argv)
    result = run_cli("tabular", model, files["data"], "--row", 0, *FAST, *args, "-o", output)
    check(result, case, output)
    assert sys.argv == argv0, "the model's sys.argv was not given back"
    if case.id == "script runs argparse at import":
        # The script's usage text names the script, not limecli.
        assert "usage: argparse_required.py" in result.stderr, result.stderr


# -- what a model prints never reaches stdout: subprocesses, where file descriptors are real ----
LOUD = """
import ctypes
import os
import sys
import numpy as np

print("import: print")
os.write(1, b"import: fd 1\\n")

def predict(batch):
    print("predict: print")
    sys.__stdout__.write("predict: sys.__stdout__\\n")
    os.write(1, b"predict: fd 1\\n")
    ctypes.CDLL(None).printf(b"predict: C printf\\n")  # buffered by C stdio, not Python
    a = np.asarray(batch, dtype=float)[:, 0]
    p = 1 / (1 + np.exp(-a))
    return np.column_stack([1 - p, p])
"""
LOUD_LINES = [
    "import: print",
    "import: fd 1",
    "predict: print",
    "predict: sys.__stdout__",
    "predict: fd 1",
    "predict: C printf",
]

NOISY_MODULE = """
import os
import numpy as np

class Noisy:
    def __setstate__(self, state):
        print("unpickling: loading weights... done")
        os.write(1, b"unpickling: fd 1\\n")
        self.__dict__.update(state)

    def predict_proba(self, X):
        print("predict_proba: print")
        a = np.asarray(X, dtype=float)[:, 0]
        p = 1 / (1 + np.exp(-a))
        return np.column_stack([1 - p, p])
"""


def limecli(*args: Any, cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), *sys.path])}
    command = [sys.executable, "-m", "limecli", *map(str, args)]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.mark.skipif(os.name != "posix", reason="C stdio through ctypes.CDLL(None)")
@pytest.mark.parametrize(
    "batch",
    [
        (),
        ("--rows", "0:3", "--format", "jsonl"),
        ("--rows", "0:3", "--format", "jsonl", "--jobs", "2"),
    ],
)
def test_every_kind_of_print_by_a_script_goes_to_stderr(files: dict[str, Path], batch) -> None:
    (files["dir"] / "loud.py").write_text(LOUD)
    row = () if batch else ("--row", "0")
    done = limecli("tabular", "loud.py:predict", "data.csv", *row, *FAST, *batch, cwd=files["dir"])
    assert done.returncode == 0, done.stderr
    if batch:
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["input"]["row"] for r in records] == [0, 1, 2]
    else:
        assert json.loads(done.stdout)["input"]["row"] == 0
    for line in LOUD_LINES:
        assert line in done.stderr.splitlines(), (line, done.stderr)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_pickled_class_printing_as_it_loads_leaves_jsonl_clean(
    files: dict[str, Path], jobs: str
) -> None:
    """With --jobs 2 the workers unpickle the model too: fenced there as well."""
    (files["dir"] / "noisy_module.py").write_text(NOISY_MODULE)
    subprocess.run(
        [sys.executable, "-c", "import noisy_module, joblib; m = noisy_module.Noisy(); m.w = 1; "
         "joblib.dump(m, 'noisy.joblib')"],
        cwd=files["dir"], env={**os.environ, "PYTHONPATH": str(files["dir"])}, check=True,
    )  # fmt: skip
    done = limecli(
        "tabular", "noisy.joblib", "data.csv", "--rows", "0:4", *FAST, "--format", "jsonl",
        "--jobs", jobs, cwd=files["dir"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["input"]["row"] for line in done.stdout.splitlines()] == [0, 1, 2, 3]
    for line in ["unpickling: loading weights... done", "unpickling: fd 1", "predict_proba: print"]:
        assert line in done.stderr.splitlines(), (line, done.stderr)


def test_a_script_that_exits_at_import_is_a_load_error_also_for_os_exit(
    files: dict[str, Path],
) -> None:
    (files["dir"] / "hard.py").write_text(HARD_EXIT_AT_IMPORT)
    done = limecli("tabular", "hard.py:predict", "data.csv", "--row", "0", cwd=files["dir"])
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith("Error: cannot import hard.py:predict")


# -- a real Ctrl-C is still the user's ----------------------------------------------------------
SLOW = """
import pathlib
import time

def predict(batch):
    pathlib.Path("started").touch()
    time.sleep(60)
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("timeout", [(), ("--timeout", "50")])
def test_a_real_ctrl_c_during_a_model_call_is_an_interruption(
    files: dict[str, Path], timeout
) -> None:
    (files["dir"] / "slow.py").write_text(SLOW)
    command = [sys.executable, "-m", "limecli", "tabular", "slow.py:predict", "data.csv", "--row",
               "0", *FAST, *timeout]  # fmt: skip
    # SIGINT as a terminal sends it (a background job of a shell may start with it ignored).
    process = subprocess.Popen(
        command, cwd=files["dir"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (files["dir"] / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert out == ""
    assert err.splitlines()[-1] == "Error: interrupted"
    assert "KeyboardInterrupt" not in err


# -- the library: the fence gives everything back --------------------------------------------------
def test_a_model_call_gives_back_stdout_argv_and_os_exit(capfd, tmp_path: Path) -> None:
    from limecli.model.loading import load_model

    (tmp_path / "loud.py").write_text(LOUD)
    (tmp_path / "models.py").write_text(SCRIPT)
    before = (sys.stdout, list(sys.argv), os._exit, os.fstat(1).st_ino)
    predictor = load_model(f"{tmp_path / 'loud.py'}:predict")
    predictor(np.zeros((4, 3)))
    exits = load_model(f"{tmp_path / 'models.py'}:exit7")
    with pytest.raises(PredictorCallError, match=r"called sys\.exit\(7\)"):
        exits(np.zeros((4, 3)))
    assert (sys.stdout, list(sys.argv), os._exit, os.fstat(1).st_ino) == before
    out, err = capfd.readouterr()
    assert out == ""
    for line in LOUD_LINES:
        assert line in err.splitlines(), (line, err)


def test_a_pickled_predictor_unpickles_its_model_fenced(capfd) -> None:
    from limecli.model.wrap import wrap_model

    predictor = wrap_model(NoisyModel(on_predict="none"), mode="classification")
    copy = pickle.loads(pickle.dumps(predictor))
    assert copy(np.zeros((2, 3))).shape == (2, 2)
    out, err = capfd.readouterr()
    assert out == ""
    assert "unpickling: loading weights... done" in err


FORKS = """
import os
import sys
import numpy as np
from limecli.model.predictor import Predictor

def fn(batch):
    pid = os.fork()
    if pid == 0:
        os._exit(9)  # the forked child's own exit is real
    _, status = os.waitpid(pid, 0)
    sys.stderr.write(f"child exit {os.waitstatus_to_exitcode(status)}\\n")
    return np.full((len(batch), 2), 0.5)

Predictor(fn, mode="classification")(np.zeros((3, 2)))
sys.stderr.write(f"done in {os.getpid()}\\n")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_os_exit_in_a_process_the_model_forks_is_a_real_exit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKS], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["child exit 9", f"done in {done.stderr.split()[-1]}"]

"""Hostile batch outputs: resuming a file of other settings, kind or origin, or one another run
is writing. Every case: one ``Error:`` line, its exit code, no traceback, nothing on stdout,
and every file in the folder (the output, its settings file) byte for byte as it was."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hostile import Case, params
from sklearn.linear_model import LogisticRegression

from limecli.cli import cli
from limecli.errors import EXIT_CODES

FAST = ("--num-samples", "60", "--num-features", "2", "-q")
#: Descriptors holding a lock on a case's output while it runs ("another run"); closed after.
HELD: list[int] = []


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two models, data, and the outputs of a first batch (rows 0:2) in JSONL and CSV."""
    folder = tmp_path_factory.mktemp("batches")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)).round(3), columns=["a", "b", "c"])
    target = (frame["a"] - frame["c"] > 0).astype(int)
    joblib.dump(LogisticRegression().fit(frame, target), folder / "model.joblib")
    joblib.dump(LogisticRegression(C=0.01).fit(frame, target), folder / "other.joblib")
    frame.to_csv(folder / "data.csv", index=False)
    frame.iloc[:20].to_csv(folder / "train.csv", index=False)
    runner = CliRunner()
    for name in ("run.jsonl", "run.csv"):
        result = runner.invoke(
            cli,
            [
                "tabular",
                str(folder / "model.joblib"),
                str(folder / "data.csv"),
                "--rows",
                "0:2",
                *FAST,
                "-o",
                str(folder / name),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.stderr
        assert (folder / f"{name}.limecli").is_file()
    return {"dir": folder}


def resume(*args: Any, out: str = "run.jsonl", model: str = "model.joblib") -> Any:
    """A case resuming ``out`` (rows 0:4) with ``args`` added."""
    return lambda tmp: (tmp / model, tmp / "data.csv", "--rows", "0:4", *FAST, *args, "-o",
                        tmp / out, "--resume")  # fmt: skip


def with_file(name: str, content: bytes, *args: Any, out: str = "run.jsonl") -> Any:
    """A case that first writes ``content`` to ``name`` in the folder."""

    def make(tmp: Path) -> tuple[Any, ...]:
        (tmp / name).write_bytes(content)
        return resume(*args, out=out)(tmp)

    return make


def edited_model(tmp: Path) -> tuple[Any, ...]:
    """The model file keeps its name but holds another model."""
    shutil.copyfile(tmp / "other.joblib", tmp / "model.joblib")
    return resume()(tmp)


def other_training(tmp: Path) -> tuple[Any, ...]:
    """The first run's training data was DATA itself (no --train)."""
    return resume("--train", tmp / "train.csv")(tmp)


def held(out: str, *args: Any) -> Any:
    """A case whose output another run is writing (its lock held)."""

    def make(tmp: Path) -> tuple[Any, ...]:
        fd = os.open(tmp / out, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        HELD.append(fd)
        return (tmp / "model.joblib", tmp / "data.csv", "--rows", "0:4", *FAST, *args, "-o",
                tmp / out)  # fmt: skip

    return make


JSONL_TEXT = (
    b'{"schema_version": "1.2", "kind": "text", "mode": "classification", '
    b'"input": {"source": "a.txt"}, "labels": []}\n'
)

CASES = [
    Case("resume with another seed", resume("--seed", 1), 2, "--seed 0 (now 1)"),
    Case(
        "resume with another sample count",
        resume("--num-samples", 90),
        2,
        "--num-samples 60 (now 90)",
    ),
    Case(
        "resume with another feature count",
        resume("--num-features", 3),
        2,
        "--num-features 2 (now 3)",
    ),
    Case(
        "resume with another model file",
        resume(model="other.joblib"),
        2,
        "other settings: the model (another file",
    ),
    Case("resume after the model file changed", edited_model, 2, "the model (another file"),
    Case("resume with other training data", other_training, 2, "--train (another file"),
    Case(
        "resume with another discretizer",
        resume("--discretizer", "decile"),
        2,
        '--discretizer "quartile" (now "decile")',
    ),
    Case(
        "resume with independent samples",
        resume("--independent-samples"),
        2,
        "--independent-samples off (now on)",
    ),
    Case("resume a CSV with another seed", resume("--seed", 5, out="run.csv"), 2, "--seed 0"),
    Case(
        "resume a file of text records",
        with_file("texts.jsonl", JSONL_TEXT, out="texts.jsonl"),
        2,
        "holds text records, not tabular",
    ),
    Case(
        "resume a JSONL file limecli did not write",
        with_file("notes.jsonl", b'{"note": "mine"}\n', out="notes.jsonl"),
        2,
        "line 1 of",
    ),
    Case(
        "resume a CSV file limecli did not write",
        with_file("sales.csv", b"region,amount\nnorth,3\n", out="sales.csv"),
        2,
        "is not a limecli batch CSV",
    ),
    Case(
        "resume a JSON array written to a .jsonl name",
        with_file("array.jsonl", b'[\n  {"kind": "tabular"}\n]\n', out="array.jsonl"),
        2,
        "is not a limecli record",
    ),
    Case(
        "resume with a damaged settings file",
        with_file("run.jsonl.limecli", b'{"settings": '),
        2,
        "is not a limecli settings file",
    ),
    Case(
        "a JSONL output another run is writing",
        held("run.jsonl"),
        7,
        "is being written by another limecli run",
    ),
    Case(
        "resume a JSONL output another run is writing",
        held("run.jsonl", "--resume"),
        7,
        "is being written by another limecli run",
    ),
    Case(
        "a CSV output another run is writing",
        held("run.csv"),
        7,
        "is being written by another limecli run",
    ),
]


@pytest.fixture
def folder(base: dict[str, Path], tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the base folder; locks taken by a case are dropped afterwards."""
    for path in base["dir"].iterdir():
        shutil.copyfile(path, tmp_path / path.name)
    yield tmp_path
    while HELD:
        os.close(HELD.pop())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_batch_output(run_cli, folder: Path, case: Case) -> None:
    args = case.make(folder)
    before = _snapshot(folder)
    result = run_cli("tabular", *args)
    assert case.code in EXIT_CODES
    assert result.exit_code == case.code, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    assert case.fragment in errors[0], errors[0]
    assert _snapshot(folder) == before, "a refused run changed a file"

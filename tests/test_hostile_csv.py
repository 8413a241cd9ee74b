"""Hostile CSV input: every case a one-line error with its exit code, or a documented note."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from hostile import Case, check, params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from limecli.errors import InputDataError
from limecli.inputs.tabular import read_csv

FAST = ("--num-samples", "100", "--num-features", "3")
HEADER = "a,b,c"
GOOD = "1.5,2,3\n0.5,1,0\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A LogisticRegression fitted on a DataFrame (a, b, c) and its training CSV."""
    folder = tmp_path_factory.mktemp("csv_model")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    target = (frame["a"] + frame["b"] > 0).astype(int)
    path = folder / "model.joblib"
    joblib.dump(LogisticRegression().fit(frame, target), path)
    train = folder / "train.csv"
    frame.round(4).to_csv(train, index=False)
    return {"model": path, "train": train}


def _write(tmp: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def data(text: str | bytes, *args: Any, row: int = 0) -> Any:
    """A case whose DATA is ``text``, explained with the shared training CSV."""
    return lambda tmp: (_write(tmp, text), "--row", row, "--train", "{train}", *args)


def alone(text: str | bytes, *args: Any, row: int = 0) -> Any:
    """A case whose DATA is ``text`` and is its own training data (no --train)."""
    return lambda tmp: (_write(tmp, text), "--row", row, *args)


def training(text: str, *args: Any) -> Any:
    """A case whose --train CSV is ``text``; DATA is fine."""
    return lambda tmp: (
        _write(tmp, f"{HEADER}\n{GOOD}"),
        "--row",
        0,
        "--train",
        _write(tmp, text, "train.csv"),
        *args,
    )


def huge(tmp: Path) -> tuple[Any, ...]:
    """A data file whose rows after row 3 are garbage: --row 2 with --train must not read them."""
    good = "".join(f"{i % 7}.5,{i % 3},{i % 5}\n" for i in range(4))
    garbage = b"1,2\n" * 50_000 + b"\xff\xfe not utf-8 \x00\n" * 1000
    path = _write(tmp, f"{HEADER}\n{good}".encode() + garbage)
    return (path, "--row", 2, "--train", "{train}")


MIXED_TRAIN = f"{HEADER}\n" + "".join(f"{i},{i % 4},1\n" for i in range(20)).replace(
    "7,3,1", "7,abc,1"
)

CASES = [
    Case("empty file", alone(""), 3, "is empty"),
    Case("whitespace only", alone("\n \n\n"), 3, "is empty"),
    Case("header only", alone(f"{HEADER}\n"), 3, "header but no data rows"),
    Case("ragged row, short", alone(f"{HEADER}\n1,2,3\n4,5\n"), 3, "row 1 (line 3) has 2 field"),
    Case("ragged row, long", alone(f"{HEADER}\n1,2,3\n4,5,6,7\n"), 3, "has 4 field(s)"),
    Case("semicolon delimiter", data("a;b;c\n1,5;2;3\n1;2;3\n", row=1), 0, "separated by ';'"),
    Case("tab delimiter", data("a\tb\tc\n1\t2\t3\n"), 0, "separated by tab"),
    Case(
        "quoted newlines",
        data(f'{HEADER},note\n1,2,3,"two\nlines, and a comma"\n4,5,6,x\n', row=1),
        0,
        "left out: note",
    ),
    Case(
        "NaN, inf and empty cells in training data",
        training(f"{HEADER}\n1,2,3\n,1,2\nnan,inf,-inf\n2,NaN,1\n0,0,0\n"),
        0,
        "",
    ),
    Case(
        "empty cell in the row, a model without missing values",
        data(f"{HEADER}\n1,,3\n"),
        3,
        "row 0: the model does not accept missing values, and the row to explain has "
        "missing value(s) in column(s): b",
    ),
    Case("inf in the row", data(f"{HEADER}\n1,inf,3\n"), 3, "row 0: column 'b' is infinite"),
    Case(
        "text in a numeric column of the row",
        data(f"{HEADER}\n1,abc,3\n"),
        3,
        "row 0: column 'b' has non-numeric value 'abc'",
    ),
    Case(
        "text in a numeric training column",
        training(MIXED_TRAIN),
        3,
        "column 'b' holds numbers except 1 cell(s), first at row 7: 'abc'",
    ),
    Case("duplicate column names", alone("a,b,b,c\n1,2,3,4\n"), 3, "duplicate column name(s): 'b'"),
    Case("row out of range", data(f"{HEADER}\n{GOOD}", row=9), 3, "row 9 is out of range"),
    Case("missing model column", data("a,b\n1,2\n"), 3, "lacks column(s) the model needs: c"),
    Case("extra columns", data(f"x,{HEADER},y\n0,1,2,3,z\n"), 0, "left out: x, y"),
    Case("invalid UTF-8", alone(b"a,b,c\n1,2,3\n\xff,2,3\n"), 3, "not UTF-8 text"),
    Case("binary file", alone(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff"), 3, "not UTF-8"),
    Case("huge data file, one row asked for", huge, 0, ""),
]


@pytest.mark.parametrize("case", params(CASES))
def test_hostile_csv(run_cli, model: dict[str, Path], tmp_path: Path, case: Case) -> None:
    args = [str(model["train"]) if a == "{train}" else a for a in case.make(tmp_path)]
    output = tmp_path / "out.json"
    result = run_cli("tabular", model["model"], *args, *FAST, "-o", output)
    check(result, case, output)
    if case.code == 0:
        assert json.loads(output.read_text())["kind"] == "tabular"


def test_a_sniffed_delimiter_reads_the_same_frame(tmp_path: Path) -> None:
    notes: list[str] = []
    frame = read_csv(_write(tmp_path, "a;b\n1;x\n2;y\n"), notes=notes)
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1, 2]
    assert len(notes) == 1


def test_only_the_rows_asked_for_are_read(tmp_path: Path) -> None:
    (path, *_) = huge(tmp_path)
    frame = read_csv(path, nrows=3)
    assert len(frame) == 3
    with pytest.raises(InputDataError, match="row 4"):
        read_csv(path)  # the whole file is indeed malformed


def test_the_same_row_streamed_or_read_whole_gives_the_same_bytes(
    run_cli, model: dict[str, Path], tmp_path: Path
) -> None:
    path = _write(
        tmp_path, f"{HEADER}\n" + "".join(f"{i / 7:.3f},{i % 3},{i}\n" for i in range(30))
    )
    streamed = run_cli(
        "tabular", model["model"], path, "--row", 5, "--train", model["train"], *FAST
    )
    whole = run_cli(
        "tabular",
        model["model"],
        path,
        "--rows",
        "5",
        "--train",
        model["train"],
        *FAST,
        "--format",
        "json",
        "-q",
    )
    assert streamed.exit_code == 0 and whole.exit_code == 0, whole.stderr
    one = json.loads(streamed.stdout)
    batch = json.loads(whole.stdout)
    assert one["prediction"] == batch[0]["prediction"]
    assert one["input"] == batch[0]["input"]


def test_categorical_exempts_a_mixed_training_column(
    run_cli, model: dict[str, Path], tmp_path: Path
) -> None:
    train = _write(tmp_path, MIXED_TRAIN, "train.csv")
    data_path = _write(tmp_path, f"{HEADER}\n{GOOD}")
    result = run_cli(
        "tabular",
        model["model"],
        data_path,
        "--row",
        0,
        "--train",
        train,
        "--categorical",
        "b",
        *FAST,
    )
    assert "holds numbers except" not in result.stderr


# -- property-based: whatever the bytes, read_csv returns a frame or raises InputDataError ----
cells = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    header=st.lists(
        st.text(alphabet="abcxyz_", min_size=1, max_size=4), min_size=1, max_size=4, unique=True
    ),
    rows=st.lists(st.lists(cells, min_size=4, max_size=4), min_size=1, max_size=6),
    sep=st.sampled_from([",", ";", "\t"]),
    ragged=st.booleans(),
)
def test_fuzz_tables_round_trip_or_are_refused(
    tmp_path: Path, header: list[str], rows: list[list[str]], sep: str, ragged: bool
) -> None:
    """A table written with any of the delimiters reads back with its shape; a ragged one fails."""
    if len(header) == 1:
        sep = ","  # one column: nothing to sniff
    rows = [row[: len(header)] for row in rows]
    if ragged:
        rows[-1] = [*rows[-1], "extra"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep)  # CRLF, and quotes fields with CR or LF
    writer.writerow(header)
    writer.writerows(rows)
    path = _write(tmp_path, buffer.getvalue(), "fuzz.csv")
    if ragged:
        with pytest.raises(InputDataError, match="field"):
            read_csv(path)
        return
    frame = read_csv(path)
    assert list(frame.columns) == header
    assert len(frame) == len(rows)


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=200))
def test_fuzz_any_bytes_give_a_frame_or_an_input_error(tmp_path: Path, raw: bytes) -> None:
    path = _write(tmp_path, raw, "fuzz.csv")
    with contextlib.suppress(InputDataError):
        read_csv(path)

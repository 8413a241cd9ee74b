"""Tables beyond plain CSV: compressed CSV, Parquet, Feather, JSON Lines and stdin, read whole
or streamed in chunks, with the palmerpenguins data written in every format."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import zstandard
from click.testing import Result
from palmerpenguins import load_penguins
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from limecli.errors import InputDataError
from limecli.inputs import tabular as tables
from limecli.inputs.rows import parse_row_spec
from limecli.inputs.table_stream import spec_positions
from limecli.inputs.tabular import open_table, read_csv

Run = Callable[..., Result]
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
FAST = ("--num-samples", "200", "--seed", "3")
FORMATS = (
    "csv",
    "csv.gz",
    "csv.bz2",
    "csv.xz",
    "csv.zst",
    "tsv",
    "parquet",
    "pq",
    "feather",
    "arrow",
    "jsonl",
    "ndjson.gz",
)


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` written in the format ``path``'s suffixes name (no index)."""
    name = path.name
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    elif name.endswith((".feather", ".arrow")):
        frame.reset_index(drop=True).to_feather(path)
    elif ".jsonl" in name or ".ndjson" in name:
        text = "".join(json.dumps(r) + "\n" for r in frame.to_dict(orient="records"))
        path.write_bytes(_compress(text.encode("utf-8"), name))
    else:
        sep = "\t" if ".tsv" in name else ","
        path.write_bytes(_compress(frame.to_csv(index=False, sep=sep).encode("utf-8"), name))
    return path


def _compress(data: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        return gzip.compress(data)
    if name.endswith(".bz2"):
        return bz2.compress(data)
    if name.endswith(".xz"):
        return lzma.compress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdCompressor().compress(data)
    return data


@pytest.fixture(scope="session")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Penguins without gaps: a species model on the four measurements, train/test tables."""
    folder = tmp_path_factory.mktemp("penguins")
    frame = load_penguins().dropna().reset_index(drop=True)
    train, test = frame.iloc[:250], frame.iloc[250:].reset_index(drop=True)
    # Scaled inputs converge quickly; the model sees millimetres and grams through a scaler.
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        train[NUMERIC], train["species"]
    )
    joblib.dump(model, folder / "model.joblib")
    write_table(train, folder / "train.csv")
    files = {fmt: write_table(test, folder / f"test.{fmt}") for fmt in FORMATS}
    return {"folder": folder, "model": folder / "model.joblib", "test": test, "files": files}


def _records(text: str) -> list[dict[str, Any]]:
    """Records of JSON or JSONL output, without the input's source (the file's name)."""
    lines = text.strip().splitlines()
    if len(lines) > 1 and lines[0] in ("[", "{"):  # one JSON document (an array or one object)
        document = json.loads(text)
        records = document if isinstance(document, list) else [document]
    else:
        records = [json.loads(line) for line in lines]
    for record in records:
        assert record["input"].pop("source")
    return records


def _explain(
    run_cli: Run, penguins: dict[str, Any], data: Any, *args: Any, stdin: Any = None
) -> list[dict[str, Any]]:
    train = penguins["folder"] / "train.csv"
    result = run_cli(
        "tabular", penguins["model"], data, "--train", train, *FAST, *args, input=stdin
    )
    assert result.exit_code == 0, result.stderr
    assert "Error" not in result.stderr
    return _records(result.stdout)


# -- one row, every format -------------------------------------------------------------------
def test_the_same_row_from_every_format_gives_the_same_explanation(
    run_cli: Run, penguins: dict[str, Any]
) -> None:
    reference = _explain(
        run_cli, penguins, penguins["files"]["csv"], "--row", 17, "--format", "json"
    )
    assert reference[0]["input"] == {"row": 17}
    for fmt, path in penguins["files"].items():
        assert _explain(run_cli, penguins, path, "--row", 17, "--format", "json") == reference, fmt
    for fmt in ("csv", "parquet", "feather", "jsonl", "csv.gz", "csv.zst"):
        data = penguins["files"][fmt].read_bytes()
        got = _explain(run_cli, penguins, "-", "--row", 17, "--format", "json", stdin=data)
        assert got == reference, f"stdin {fmt}"


def test_stdin_is_named_in_the_record_and_notes(run_cli: Run, penguins: dict[str, Any]) -> None:
    data = penguins["files"]["parquet"].read_bytes()
    result = run_cli(
        "tabular", penguins["model"], "-", "--row", 2, *FAST, "--format", "json", input=data
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["input"] == {"source": "-", "row": 2}
    assert "sampling statistics come from <stdin> itself" in result.stderr


# -- batches: streamed, identical whatever the format, the chunk size and --jobs --------------
def test_streamed_batches_agree_across_formats_chunks_and_jobs(
    run_cli: Run, penguins: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = ("--rows", "60:,3,0:5,40", "--format", "jsonl")
    reference = _explain(run_cli, penguins, penguins["files"]["csv"], *rows)
    assert [r["input"]["row"] for r in reference] == [*range(60, 83), 3, 0, 1, 2, 4, 40]
    for fmt in ("csv.gz", "parquet", "feather", "jsonl"):
        assert _explain(run_cli, penguins, penguins["files"][fmt], *rows) == reference, fmt
    stdin = penguins["files"]["csv.xz"].read_bytes()
    assert _explain(run_cli, penguins, "-", *rows, stdin=stdin) == reference
    monkeypatch.setattr(tables, "CHUNK_ROWS", 7)  # rows 0:83 in 12 chunks, out-of-order passes
    for fmt in ("csv", "parquet", "jsonl"):
        assert _explain(run_cli, penguins, penguins["files"][fmt], *rows) == reference, fmt
    assert _explain(run_cli, penguins, penguins["files"]["csv"], *rows, "--jobs", 2) == reference


def test_a_streamed_batch_equals_the_whole_frame_batch(penguins: dict[str, Any]) -> None:
    """The pipeline's streamed job and its in-memory job give the same records."""
    from limecli.batch import StreamSink, run_batch
    from limecli.config.common import Labels, Sampling
    from limecli.config.tabular import RowSelection, TabularSettings
    from limecli.model.loading import load_model
    from limecli.pipelines.tabular import TabularPipeline

    def records(streamed: bool) -> str:
        import io

        settings = TabularSettings(train=penguins["folder"] / "train.csv")
        pipeline = TabularPipeline(
            load_model(str(penguins["model"])),
            settings,
            Sampling(num_samples=100, seed=1),
            Labels(),
        )
        data = penguins["files"]["csv"]
        if streamed:
            job = pipeline.batch(data, RowSelection(rows="5:40"))
        else:
            frame = pipeline.prepare(data)
            job = pipeline.batch_job(frame, list(range(5, 40)), str(data))
        out = io.StringIO()
        sink = StreamSink("jsonl", out)
        run_batch(job.inputs, job.task, sink, kind="tabular", seed=1, chunk_size=job.chunk_size)
        assert job.total == 35
        return out.getvalue()

    assert records(True) == records(False)


def test_rows_past_the_end_of_a_streamed_table(run_cli: Run, penguins: dict[str, Any]) -> None:
    for spec, message in (
        ("80:90", "rows 80:90 reach past the end: the data has 83 rows (0 to 82)"),
        ("1,83", "row 83 is out of range: the data has 83 rows (0 to 82)"),
    ):
        train = penguins["folder"] / "train.csv"
        data = penguins["files"]["parquet"]
        result = run_cli("tabular", penguins["model"], data, "--train", train, "--rows", spec)
        assert result.exit_code == 3
        assert result.stdout == ""
        assert result.stderr.strip().splitlines()[-1] == f"Error: {message}"


@pytest.mark.parametrize(
    "spec",
    ["0:10", "5:", "3,7,9", "0:10,42,5:15", "9,8,7,0:3", "20:30,0:50,25", "0:0,4", "49,0:50"],
)
def test_lazy_row_specs_match_resolve(spec: str) -> None:
    parsed = parse_row_spec(spec)
    total, rows = spec_positions(parsed, 50)
    expected = parsed.resolve(50)
    assert list(rows) == expected and total == len(expected)


# -- the readers: one dtype per column whatever the chunk ----------------------------------
def test_chunks_take_the_dtypes_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integers then a gap, numbers then text, booleans then a gap: as a whole read."""
    monkeypatch.setattr(tables, "CHUNK_ROWS", 4)
    lines = ["n,code,flag,x,label"]
    for i in range(10):
        code = "A7" if i == 9 else str(i)
        gap = "" if i == 8 else str(i)
        flag = "" if i == 6 else ("True" if i % 2 else "False")
        lines.append(f"{gap},{code},{flag},{i / 4},L{i % 3}")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = read_csv(path)
    table = open_table(path)
    assert table.n_rows == 10 and table.columns == list(whole.columns)
    pd.testing.assert_frame_equal(table.frame(), whole)
    for i, row in table.rows([9, 0, 5, 6, 1]):
        pd.testing.assert_series_equal(row, whole.iloc[i])


def test_parquet_and_feather_keep_their_dtypes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "CHUNK_ROWS", 3)
    frame = pd.DataFrame(
        {
            "island": pd.Categorical(["Biscoe", "Dream", "Biscoe", "Torgersen", "Dream"] * 2),
            "count": np.arange(10, dtype="int32"),
            "mass": [3.5, None, 4.0, 4.5, 5.0, 3.0, 3.25, 3.75, 4.25, 4.75],
            "adult": [True, False] * 5,
            "name": [f"p{i}" for i in range(10)],
        }
    )
    for name in ("t.parquet", "t.feather"):
        path = write_table(frame, tmp_path / name)
        whole = read_csv(path)
        assert isinstance(whole["island"].dtype, pd.CategoricalDtype), name
        assert list(whole["island"].cat.categories) == ["Biscoe", "Dream", "Torgersen"]
        assert whole["count"].dtype == np.dtype("int32") and whole["adult"].dtype == bool
        pd.testing.assert_frame_equal(whole, frame, check_categorical=True)
        table = open_table(path)
        pd.testing.assert_frame_equal(table.frame(), whole)
        assert dict(table.rows([7]))[7].equals(whole.iloc[7])
    assert read_csv(tmp_path / "t.parquet", nrows=4).shape == (4, 5)


def test_json_lines_rows_may_lack_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "CHUNK_ROWS", 2)
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"a": 1, "b": "x"}\n\n{"a": 2, "b": "y"}\n{"b": "z", "c": true}\n{"a": 4, "b": null}\n',
        encoding="utf-8",
    )
    whole = read_csv(path)
    assert list(whole.columns) == ["a", "b", "c"]
    assert whole["a"].tolist()[:2] == [1.0, 2.0] and np.isnan(whole["a"][2])
    pd.testing.assert_frame_equal(open_table(path).frame(), whole)


# -- errors: one message naming the file and the place ---------------------------------------
@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("bad.jsonl", b'{"a": 1}\n{"a": 2,\n', "bad.jsonl line 2 is not valid JSON"),
        ("bad.jsonl", b'{"a": 1}\n[1, 2]\n', "line 2 holds an array, not an object"),
        ("bad.jsonl", b'{"a": [1]}\n', "'a' holds an array"),
        ("empty.jsonl", b"\n\n", "is empty: expected one JSON object per line"),
        ("bad.csv.gz", b"not gzip at all", "is not readable gzip data"),
        ("cut.csv.gz", gzip.compress(b"a,b\n1,2\n3,4\n" * 50)[:-20], "is not readable gzip"),
        ("ragged.csv.gz", gzip.compress(b"a,b\n1,2\n3,4,5\n"), "row 1 (line 3) has 3 field(s)"),
        ("bad.parquet", b"PAR1 but not really", "is not a readable Parquet file"),
        ("data.parquet.gz", gzip.compress(b"x"), "a compressed parquet file is not read"),
        ("bad.feather", b"nothing", "is not a readable Feather/Arrow file"),
    ],
)
def test_unreadable_tables_give_one_input_error(
    tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    for read in (read_csv, open_table):
        with pytest.raises(InputDataError) as caught:
            read(path)
        assert fragment in str(caught.value)


def test_unreadable_table_through_the_cli(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\nnope\n')
    model = Path(__file__).resolve().parent.parent / "sample_models" / "breast_cancer_rf.joblib"
    result = run_cli("tabular", model, path, "--row", 0)
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {path} line 2 is not valid")


def test_parquet_without_pyarrow_gives_the_install_hint(penguins: dict[str, Any]) -> None:
    """pyarrow is optional: without it, one error with the extra to install (exit 3)."""
    script = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "from limecli.cli import main\n"
        "sys.argv = ['limecli', *sys.argv[1:]]\n"
        "main()\n"
    )
    for fmt in ("parquet", "feather"):
        result = subprocess.run(
            [sys.executable, "-c", script, "tabular", str(penguins["model"]),
             str(penguins["files"][fmt]), "--row", "0", *FAST],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 3, result.stderr
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len([line for line in lines if line.startswith("Error:")]) == 1
        assert "Traceback" not in result.stderr
        assert "files need the 'pyarrow' package (pip install 'limecli[parquet]')" in lines[-1]

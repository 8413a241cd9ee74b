"""The CSV output carries the trust figures the JSON has: intervals per feature, stability per label.

Each check runs the same command twice, once with ``--format json`` and once with
``--format csv`` (same seed, so the same explanation), and compares every trust cell
of the CSV with the JSON's figure: floats must read back to the very same number.
A batch's CSV row equals the single run's for the same input and its derived seed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import SAMPLE_DATA, SAMPLE_MODELS

from limecli.batch import csv_columns
from limecli.inputs.ref import InputRef
from limecli.render.csv_format import ALL_COLUMNS, COLUMNS, TRUST_COLUMNS

Run = Callable[..., Result]
LOANS = SAMPLE_MODELS / "loans_pipeline.joblib"
LOANS_TEST = SAMPLE_DATA / "loans_test.csv"
LOANS_TRAIN = SAMPLE_DATA / "loans_train.csv"
NEWS = SAMPLE_MODELS / "text_newsgroups.joblib"
NEWS_TEST = SAMPLE_DATA / "text" / "newsgroups_test.csv"
TABULAR = (LOANS, LOANS_TEST, "--train", LOANS_TRAIN, "--num-samples", 800, "--num-features", 4)
TEXT = (NEWS, NEWS_TEST, "--column", "text", "--num-samples", 400, "--num-features", 4)
IMAGE = (
    "sample_models/predict_shapes.py:predict",
    SAMPLE_DATA / "images" / "astronaut.jpg",
    *("--resize", "80x80", "--segmenter", "slic", "--segments", 20, "--compactness", 20),
    *("--num-samples", 300, "--top-labels", 2),
)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def number(cell: str) -> float:
    return float(cell)


def flag(value: bool) -> str:
    return "true" if value else "false"


def assert_trust_cells_match(record: dict[str, Any], rows: list[dict[str, str]]) -> int:
    """Every trust cell of ``rows`` equals ``record``'s figure; returns the rows checked."""
    checked = 0
    by_label: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row["label"], []).append(row)
    for label in record["labels"]:
        label_rows = by_label[label["label"]]
        stability = label["stability"]
        assert stability is not None  # these commands draw enough samples to assess it
        assert len(label_rows) == len(label["features"])
        for rank, (feature, row) in enumerate(zip(label["features"], label_rows, strict=True), 1):
            assert row["rank"] == str(rank) and row["name"] == feature["name"]
            assert number(row["weight"]) == feature["weight"]
            assert number(row["ci95_low"]) == feature["ci95"][0]
            assert number(row["ci95_high"]) == feature["ci95"][1]
            assert number(row["std_error"]) == feature["std_error"]
            assert row["distinguishable_from_zero"] == flag(feature["distinguishable_from_zero"])
            assert number(row["held_out_score"]) == label["held_out_score"]
            assert int(row["stability_resamples"]) == stability["replicates"] == 20
            assert number(row["top_k_change_probability"]) == stability["top_k_change_probability"]
            assert number(row["top_k_mean_jaccard"]) == stability["top_k_mean_jaccard"]
            assert int(row["settled_top"]) == stability["settled_top"]
            assert number(row["top_m_same"]) == stability["top_m_same"][rank - 1]
            assert row["rank_settled"] == flag(rank <= stability["settled_top"])
            assert number(row["zero_bar"]) == stability["zero_bar"]
            assert int(row["candidates"]) == stability["candidates"]
            checked += 1
    return checked


def json_and_csv(run_cli: Run, *args: object) -> tuple[dict[str, Any], str]:
    as_json = run_cli(*args, "--format", "json")
    as_csv = run_cli(*args, "--format", "csv")
    assert as_json.exit_code == 0 and as_csv.exit_code == 0, as_json.stderr + as_csv.stderr
    return json.loads(as_json.stdout), as_csv.stdout


def test_header_keeps_the_old_columns_first_and_appends_the_trust_columns() -> None:
    assert ALL_COLUMNS[: len(COLUMNS)] == COLUMNS
    assert COLUMNS[-1] == "weight" and len(COLUMNS) == 14  # unchanged since schema 1.0
    assert ALL_COLUMNS[len(COLUMNS) :] == TRUST_COLUMNS
    # A batch row is a single run's row plus its error cell, last.
    assert csv_columns() == [*ALL_COLUMNS, "error"]


def test_tabular_csv_trust_cells_equal_the_json(run_cli: Run) -> None:
    record, text = json_and_csv(
        run_cli, "tabular", *TABULAR, "--row", 3, "--seed", 1, "--top-labels", 2
    )
    rows = rows_of(text)
    assert list(rows[0]) == ALL_COLUMNS
    assert assert_trust_cells_match(record, rows) == 8  # 2 labels x 4 features


def test_text_csv_trust_cells_equal_the_json(run_cli: Run) -> None:
    record, text = json_and_csv(run_cli, "text", *TEXT, "--row", 2, "--seed", 3)
    assert assert_trust_cells_match(record, rows_of(text)) == 4


def test_image_csv_trust_cells_equal_the_json(run_cli: Run) -> None:
    record, text = json_and_csv(run_cli, "image", *IMAGE, "--seed", 0)
    rows = rows_of(text)
    assert assert_trust_cells_match(record, rows) == len(rows) > 0


def test_too_few_samples_leave_the_trust_cells_empty(run_cli: Run) -> None:
    """Under 100 samples there are no resampling blocks: no interval, no stability."""
    result = run_cli(
        "tabular", LOANS, LOANS_TEST, "--train", LOANS_TRAIN, "--row", 3, "--seed", 1,
        "--num-samples", 60, "--num-features", 3, "--format", "csv",
    )  # fmt: skip
    rows = rows_of(result.stdout)
    assert len(rows) == 3 and all(row["weight"] for row in rows)
    assert all(row[column] == "" for row in rows for column in TRUST_COLUMNS)


def test_a_flat_label_keeps_one_row_with_empty_trust_cells(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "flat.py").write_text(
        "import numpy as np\n"
        'CLASS_NAMES = ["no", "yes"]\n'
        "def predict(batch):\n"
        "    return np.tile([0.25, 0.75], (len(batch), 1))\n",
        encoding="utf-8",
    )
    model = f"{tmp_path / 'flat.py'}:predict"
    result = run_cli("tabular", model, LOANS_TRAIN, "--row", 0, "--seed", 0, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    (row,) = rows_of(result.stdout)
    assert row["name"] == "(flat output: nothing to explain)"
    assert all(row[column] == "" for column in TRUST_COLUMNS)


# -- a batch writes the same rows as single runs ---------------------------------------------------
def single_rows(run_cli: Run, ref: InputRef, *args: object, seed: int) -> list[list[str]]:
    """The CSV rows of a single run on ``ref`` with the seed a batch derives for it."""
    result = run_cli(*args, "--seed", ref.seed(seed), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    return list(csv.reader(io.StringIO(result.stdout)))[1:]


def test_tabular_batch_rows_equal_single_runs(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "batch.csv"
    batch = run_cli(
        "tabular", *TABULAR, "--rows", "3:5", "--independent-samples", "--seed", 1, "-q", "-o", out
    )
    assert batch.exit_code == 0, batch.stderr
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert table[0] == [*ALL_COLUMNS, "error"]
    expected: list[list[str]] = []
    for row in (3, 4):
        ref = InputRef.row(str(LOANS_TEST), row)
        expected += single_rows(run_cli, ref, "tabular", *TABULAR, "--row", row, seed=1)
    assert [cells[:-1] for cells in table[1:]] == expected
    assert all(cells[-1] == "" for cells in table[1:])
    assert all(cells[len(COLUMNS)] for cells in table[1:])  # the intervals are there


def test_text_batch_rows_equal_single_runs(run_cli: Run) -> None:
    batch = run_cli("text", *TEXT, "--row", 0, "--row", 1, "--seed", 4, "-q", "--format", "csv")
    assert batch.exit_code == 0, batch.stderr
    table = list(csv.reader(io.StringIO(batch.stdout)))
    expected: list[list[str]] = []
    for row in (0, 1):
        ref = InputRef.text(str(NEWS_TEST), row)
        expected += single_rows(run_cli, ref, "text", *TEXT, "--row", row, seed=4)
    assert [cells[:-1] for cells in table[1:]] == expected


# -- resuming ------------------------------------------------------------------------------------
def test_resume_onto_a_csv_with_the_old_header_is_refused_clearly(
    run_cli: Run, tmp_path: Path
) -> None:
    """Rows with more cells than an older file's header would make a ragged table."""
    out = tmp_path / "old.csv"
    old = [*COLUMNS, "error"]
    out.write_text(",".join(old) + "\n", encoding="utf-8")
    result = run_cli("tabular", *TABULAR, "--rows", "0:2", "--seed", 1, "-o", out, "--resume")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: cannot resume: ") and "written by an older limecli" in line
    assert "ci95_low" in line and "--resume" in line
    assert out.read_text(encoding="utf-8") == ",".join(old) + "\n"  # untouched


def test_resume_onto_a_current_csv_still_works(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "batch.csv"
    args = ("tabular", *TABULAR, "--seed", 1, "-q", "-o", out)
    assert run_cli(*args, "--rows", "0:2").exit_code == 0
    first = out.read_text(encoding="utf-8")
    resumed = run_cli(*args, "--rows", "0:3", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    whole = out.read_text(encoding="utf-8")
    # The last input of a file is redone on resume; the rows before it stay as written.
    assert whole.startswith(first.rsplit("\ntabular,", 4)[0])
    rows = rows_of(whole)
    assert {row["index"] for row in rows} == {"0", "1", "2"}
    assert all(row["ci95_low"] for row in rows)


@pytest.mark.parametrize("header", [["kind", "source"], ["kind", "nonsense"]])
def test_resume_onto_other_csvs_is_refused(run_cli: Run, tmp_path: Path, header: list[str]) -> None:
    out = tmp_path / "other.csv"
    out.write_text(",".join(header) + "\n", encoding="utf-8")
    result = run_cli("tabular", *TABULAR, "--rows", "0:2", "--seed", 1, "-o", out, "--resume")
    assert result.exit_code == 2
    assert "cannot resume" in result.stderr

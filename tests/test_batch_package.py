"""The batch package: its layer, typed input identity, sinks that refuse what they cannot stream,
and messages that name parameters."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS

from limecli.batch import (
    BatchInput,
    InputRef,
    StreamSink,
    check_executor_options,
    csv_key,
    derive_seed,
    error_record,
    identity_key,
    key_function,
    open_sink,
)
from limecli.errors import ParameterError

PACKAGE = ROOT / "limecli"
HTML_MESSAGE = "Error: a batch writes jsonl, csv, json or table, not html"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# -- layers --------------------------------------------------------------------------------
def test_batch_never_imports_the_cli() -> None:
    for path in sorted((PACKAGE / "batch").glob("*.py")):
        cli = {m for m in imported_modules(path) if m.startswith("limecli.cli")}
        assert not cli, f"{path.name} imports {cli}"


def test_inputs_hold_no_batch_code() -> None:
    for path in sorted((PACKAGE / "inputs").glob("*.py")):
        batch = {m for m in imported_modules(path) if m.startswith("limecli.batch")}
        assert not batch, f"{path.name} imports {batch}"
        assert "BatchTask" not in path.read_text(encoding="utf-8")


def test_batch_modules_stay_small() -> None:
    for path in sorted((PACKAGE / "batch").glob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{path.name} has {lines} lines"
    assert len((PACKAGE / "cli" / "batch_run.py").read_text().splitlines()) < 200


# -- typed identity ------------------------------------------------------------------------
def test_batch_input_takes_an_input_ref() -> None:
    item = BatchInput(InputRef.row("data.csv", 7), payload="row")
    assert item.identity == {"source": "data.csv", "row": 7}
    with pytest.raises(TypeError, match="InputRef"):
        BatchInput({"source": "data.csv", "row": 7})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ref", "identity", "cells"),
    [
        (InputRef.row("data.csv", 7), {"source": "data.csv", "row": 7}, ["data.csv", "7"]),
        (InputRef.text("a.txt"), {"source": "a.txt", "index": None}, ["a.txt", ""]),
        (InputRef.text("t.csv", 3), {"source": "t.csv", "index": 3}, ["t.csv", "3"]),
        (InputRef.file("photos/cat.png"), {"source": "photos/cat.png"}, ["photos/cat.png", ""]),
        (InputRef.row(None, 0), {"source": None, "row": 0}, ["", "0"]),
    ],
)
def test_keys_and_seeds_are_those_of_the_identity_dict(ref, identity, cells) -> None:
    """Resume keys and seeds come out exactly as from the identity dicts records carry."""
    assert ref.to_dict() == identity and list(ref.to_dict()) == list(identity)
    assert key_function("jsonl")(ref) == identity_key(identity)
    assert key_function("csv")(ref) == csv_key(ref) == json.dumps(cells)
    assert ref.seed(5) == derive_seed(5, identity)
    record = error_record("text", ref, ValueError("bad\nsecond line"))
    assert record["input"] == identity
    assert record["error"] == {"type": "ValueError", "message": "bad", "exit_code": 1}


def test_resume_ignores_an_explainers_extra_input_keys(tmp_path: Path) -> None:
    """An image record's input holds its mode and size too; only the source names it."""
    out = tmp_path / "images.jsonl"
    record = {"schema_version": "1.1", "kind": "image", "labels": []}
    lines = [
        {**record, "input": {"source": "a.png", "mode": "RGB", "size": [8, 8]}},
        {**record, "input": {"source": "b.png", "mode": "L", "size": [4, 4]}},
    ]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"cut": ')
    sink, done = open_sink("jsonl", out, resume=True, kind="image")
    sink.close(True)
    assert done == {InputRef.file("a.png").key(), InputRef.file("b.png").key()}
    assert out.read_text().endswith("}\n")  # the partial line was dropped


# -- sinks and messages --------------------------------------------------------------------
def test_a_sink_refuses_html_before_writing_anything(tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    with pytest.raises(ParameterError, match="not html") as caught:
        open_sink("html", out)
    assert caught.value.parameters == ("fmt",)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ParameterError):
        StreamSink("html", io.StringIO())


@pytest.mark.parametrize(
    ("options", "message", "parameters"),
    [
        (
            (0, "local", None),
            "'jobs' must be a positive number of processes, or -1 for all cores",
            ("jobs",),
        ),
        (
            (1, "dask", None),
            "'backend' dask needs 'scheduler' ADDRESS (e.g. tcp://host:8786)",
            ("backend", "scheduler"),
        ),
        (
            (1, "local", "tcp://x:1"),
            "'scheduler' only goes with 'backend' dask",
            ("scheduler", "backend"),
        ),
    ],
)
def test_executor_messages_name_parameters(options, message, parameters) -> None:
    with pytest.raises(ParameterError) as caught:
        check_executor_options(*options)
    assert str(caught.value) == message
    assert caught.value.parameters == parameters


def test_the_output_is_checked_before_any_work(tmp_path: Path) -> None:
    """check_sink refuses what open_sink would, touching nothing; the CLI calls it up front."""
    from limecli.batch import check_sink
    from limecli.cli.batch_run import check_batch
    from limecli.config.common import Batch, Output

    with pytest.raises(ParameterError) as caught:
        check_sink("jsonl", tmp_path / "missing" / "x.jsonl")
    assert caught.value.parameters == ("output",)
    assert str(caught.value) == f"folder {tmp_path / 'missing'} (of 'output') does not exist"
    with pytest.raises(ParameterError, match="not html"):
        check_batch(Output(output=tmp_path / "x.html"), Batch())
    with pytest.raises(ParameterError, match="'resume' needs"):
        check_batch(Output(fmt="json"), Batch(resume=True))
    with pytest.raises(ParameterError, match="'jobs' must be"):
        check_batch(Output(fmt="jsonl"), Batch(jobs=0))
    assert check_batch(Output(output=tmp_path / "x.csv"), Batch(resume=True)) == "csv"
    assert list(tmp_path.iterdir()) == []


def test_resume_needs_a_resumable_output() -> None:
    with pytest.raises(ParameterError) as caught:
        open_sink("json", None, resume=True)
    assert caught.value.parameters == ("resume", "output")
    assert str(caught.value).startswith("'resume' needs a JSONL or CSV output file")


# -- the same clean refusal of html for every kind, through the CLI ------------------------
@pytest.mark.parametrize(
    "command",
    [
        (
            "tabular",
            SAMPLE_MODELS / "breast_cancer_rf.joblib",
            SAMPLE_DATA / "breast_cancer_test.csv",
            "--rows",
            "0:3",
            "--num-samples",
            100,
        ),
        (
            "text",
            SAMPLE_MODELS / "text_newsgroups.joblib",
            SAMPLE_DATA / "text" / "leak_post.txt",
            SAMPLE_DATA / "text" / "korean_review.txt",
            "--num-samples",
            50,
        ),
        (
            "image",
            f"{SAMPLE_MODELS / 'predict_shapes.py'}:predict",
            SAMPLE_DATA / "images",
            "--num-samples",
            20,
            "--segmenter",
            "slic",
        ),
    ],
    ids=["tabular", "text", "image"],
)
@pytest.mark.parametrize("how", ["output", "format"])
def test_a_batch_to_html_is_a_usage_error_for_every_kind(
    run_cli, tmp_path: Path, command, how
) -> None:
    out = tmp_path / ("x.html" if how == "output" else "x.json")
    extra = ("-o", out) if how == "output" else ("-o", out, "--format", "html")
    result = run_cli(*command, *extra)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == HTML_MESSAGE
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file

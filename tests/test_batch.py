"""Batch explanations: input forms, output forms, determinism, errors, resume, Dask."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import jsonschema
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SAMPLE_DATA, SAMPLE_MODELS
from sklearn.linear_model import LogisticRegression

from limecli import TabularExplainer, load_model
from limecli.batch import (
    BatchInput,
    InputRef,
    StreamSink,
    derive_seed,
    identity_key,
    per_input,
    run_batch,
)

SCHEMA = json.loads((ROOT / "limecli" / "schema" / "explanation.schema.json").read_text())
ERROR_SCHEMA = json.loads((ROOT / "limecli" / "schema" / "error.schema.json").read_text())
RF = SAMPLE_MODELS / "breast_cancer_rf.joblib"
TEST = SAMPLE_DATA / "breast_cancer_test.csv"
TRAIN = SAMPLE_DATA / "breast_cancer_train.csv"
FAST = ("--num-samples", 300, "--num-features", 3)


def validate(record: dict) -> None:
    jsonschema.validate(record, ERROR_SCHEMA if "error" in record else SCHEMA)


def jsonl(text: str) -> list[dict]:
    records = [json.loads(line) for line in text.splitlines()]
    for record in records:
        validate(record)
    return records


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A logistic model whose only drivers are x0 (up) and x1 (down); x2..x4 are noise."""
    folder = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 5))
    y = (3 * x[:, 0] - 2 * x[:, 1] + 0.3 * rng.normal(size=800) > 0).astype(int)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)]).assign(y=y)
    frame.iloc[:600].to_csv(folder / "train.csv", index=False)
    frame.iloc[600:640].to_csv(folder / "test.csv", index=False)
    joblib.dump(LogisticRegression().fit(x[:600], y[:600]), folder / "model.joblib")
    # A predict script: slow when asked (to be killed mid-run), and failing on x0 > 100.
    (folder / "scripted.py").write_text(
        "import os, time\n"
        "import joblib, numpy as np\n"
        f"_model = joblib.load({str(folder / 'model.joblib')!r})\n"
        "def predict(batch):\n"
        "    batch = np.asarray(batch, dtype=float)\n"
        "    if os.environ.get('LIMECLI_TEST_SLOW'):\n"
        "        time.sleep(0.15)\n"
        "    if (batch[:, 0] > 100).any():\n"
        "        raise ValueError('x0 is out of the range the model knows')\n"
        "    return _model.predict_proba(batch)\n"
    )
    return {
        "train": folder / "train.csv",
        "test": folder / "test.csv",
        "model": folder / "model.joblib",
        "script": folder / "scripted.py",
    }


def synth_args(s: dict[str, Path], *extra: object, model: str | Path | None = None) -> list:
    return [model or s["model"], s["test"], "--train", s["train"], "--target", "y", *FAST, *extra]


# -- input forms ------------------------------------------------------------------
def test_rows_range_streams_jsonl_in_row_order(run_cli) -> None:
    result = run_cli(
        "tabular", RF, TEST, "--train", TRAIN, "--rows", "10:14", *FAST, "--format", "jsonl", "-q"
    )
    assert result.exit_code == 0, result.stderr
    records = jsonl(result.stdout)
    assert [r["input"] for r in records] == [{"source": str(TEST), "row": i} for i in range(10, 14)]
    assert result.stderr == ""  # --quiet: no notes, no progress bar


def test_rows_list_keeps_the_given_order_and_drops_repeats(run_cli) -> None:
    result = run_cli(
        "tabular",
        RF,
        TEST,
        "--train",
        TRAIN,
        "--rows",
        "9,3,7,3,0:2",
        *FAST,
        "--format",
        "jsonl",
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    assert [r["input"]["row"] for r in jsonl(result.stdout)] == [9, 3, 7, 0, 1]


def test_all_rows(run_cli, synthetic) -> None:
    result = run_cli("tabular", *synth_args(synthetic, "--all", "--format", "jsonl"))
    assert result.exit_code == 0, result.stderr
    assert [r["input"]["row"] for r in jsonl(result.stdout)] == list(range(40))
    # The progress bar goes to stderr: done/total.
    assert "40/40" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("--rows", "0:500"), 3, "reach past the end"),
        (("--rows", "3,999"), 3, "row 999 is out of range"),
        (("--rows", "a:b"), 2, "not a row number"),
        (("--rows", "5:2"), 2, "not a row number"),
        (("--row", "1", "--all"), 2, "exactly one of"),
        ((), 2, "exactly one of"),
        (("--row", "1", "--resume"), 2, "--resume"),
        (("--all", "--resume"), 2, "needs a JSONL or CSV output file"),
        (("--all", "--jobs", "0"), 2, "--jobs"),
        (("--all", "--backend", "dask"), 2, "--scheduler"),
        (("--all", "--scheduler", "tcp://127.0.0.1:1"), 2, "--backend dask"),
    ],
)
def test_bad_batch_options_are_one_line_errors(run_cli, args, code, fragment) -> None:
    result = run_cli("tabular", RF, TEST, "--train", TRAIN, *FAST, "--format", "jsonl", *args)
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and fragment in last
    assert "Traceback" not in result.stderr


# -- output forms -----------------------------------------------------------------
def test_output_forms_hold_the_same_explanations(run_cli, tmp_path: Path) -> None:
    base = ["tabular", RF, TEST, "--train", TRAIN, "--rows", "0:3", *FAST, "-q"]
    assert run_cli(*base, "-o", tmp_path / "out.jsonl").exit_code == 0
    assert run_cli(*base, "-o", tmp_path / "out.json").exit_code == 0
    assert run_cli(*base, "-o", tmp_path / "out.csv").exit_code == 0
    table = run_cli(*base, "--format", "table")
    assert table.exit_code == 0

    lines = jsonl((tmp_path / "out.jsonl").read_text())
    array = json.loads((tmp_path / "out.json").read_text())
    assert isinstance(array, list) and array == lines
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [int(r["index"]) for r in rows] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(r["error"] == "" for r in rows)
    first = lines[0]["labels"][0]["features"][0]
    assert rows[0]["name"] == first["name"] and float(rows[0]["weight"]) == first["weight"]
    assert table.stdout.count("tabular explanation of") == 3
    assert first["name"] in table.stdout
    # Only the finished outputs (and the JSONL/CSV settings for --resume): no temporary files.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.csv",
        "out.csv.limecli",
        "out.json",
        "out.jsonl",
        "out.jsonl.limecli",
    ]


def test_shared_pool_record_is_the_single_row_explanation(run_cli) -> None:
    batch = run_cli(
        "tabular", RF, TEST, "--train", TRAIN, "--rows", "12", *FAST, "--format", "jsonl", "-q"
    )
    single = run_cli(
        "tabular", RF, TEST, "--train", TRAIN, "--row", "12", *FAST, "--format", "json", "-q"
    )
    one, other = jsonl(batch.stdout)[0], json.loads(single.stdout)
    assert one["input"] == other["input"] and one["params"] == other["params"]
    a, b = one["labels"][0], other["labels"][0]
    assert [f["name"] for f in a["features"]] == [f["name"] for f in b["features"]]
    # Equal up to BLAS rounding (a batch computes with one BLAS thread).
    assert [f["weight"] for f in a["features"]] == pytest.approx(
        [f["weight"] for f in b["features"]], rel=1e-9
    )


# -- determinism ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["shared", "independent"])
def test_jobs_1_and_2_write_identical_bytes(run_cli, tmp_path: Path, mode: str) -> None:
    extra = ["--independent-samples"] if mode == "independent" else []
    outputs = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}.jsonl"
        result = run_cli(
            "tabular",
            RF,
            TEST,
            "--train",
            TRAIN,
            "--rows",
            "0:40",
            *FAST,
            "--jobs",
            jobs,
            "-o",
            out,
            "-q",
            *extra,
        )
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    seeds = [r["params"]["seed"] for r in jsonl(outputs[0].decode())]
    if mode == "shared":
        assert set(seeds) == {0}  # one pool, drawn with the global seed
    else:
        expected = [derive_seed(0, {"source": str(TEST), "row": i}) for i in range(40)]
        assert seeds == expected and len(set(seeds)) == 40


def test_derived_seeds_are_stable_and_depend_on_identity_and_seed() -> None:
    identity = {"source": "a.csv", "row": 3}
    # Fixed value: the derivation must not change between versions or processes.
    assert derive_seed(0, identity) == derive_seed(0, {"row": 3, "source": "a.csv"})
    code = "from limecli.batch import derive_seed; print(derive_seed(0, {'source': 'a.csv', 'row': 3}))"
    other_process = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert int(other_process.stdout) == derive_seed(0, identity)
    assert derive_seed(1, identity) != derive_seed(0, identity)
    assert derive_seed(0, {"source": "a.csv", "row": 4}) != derive_seed(0, identity)
    assert derive_seed(None, identity) is None
    assert derive_seed(-5, identity) == derive_seed(-5, identity)


# -- errors inside a batch ----------------------------------------------------------
def test_bad_row_becomes_an_error_record_and_exit_6(run_cli, synthetic, tmp_path: Path) -> None:
    frame = pd.read_csv(synthetic["test"]).head(6).astype({"x2": object})
    frame.loc[2, "x2"] = "abc"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "tabular",
        synthetic["model"],
        bad,
        "--train",
        synthetic["train"],
        "--target",
        "y",
        *FAST,
        "--all",
        "-o",
        out,
        "-q",
    )
    assert result.exit_code == 6
    assert (
        result.stderr.strip() == f"Error: 1 of 6 input(s) failed; each has an error record in {out}"
    )
    records = jsonl(out.read_text())
    assert [r["input"]["row"] for r in records] == list(range(6))
    error = records[2]
    assert error["error"]["type"] == "InputDataError" and error["error"]["exit_code"] == 3
    assert "'abc'" in error["error"]["message"]
    assert all("labels" in r for i, r in enumerate(records) if i != 2)
    # CSV keeps it too, in the error column.
    result = run_cli(
        "tabular",
        synthetic["model"],
        bad,
        "--train",
        synthetic["train"],
        "--target",
        "y",
        *FAST,
        "--all",
        "--format",
        "csv",
        "-q",
    )
    assert result.exit_code == 6
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 1 and failed[0]["index"] == "2" and "abc" in failed[0]["error"]


@pytest.mark.parametrize("extra", [[], ["--independent-samples"]])
def test_model_failing_on_one_row_fails_only_that_row(run_cli, synthetic, tmp_path, extra) -> None:
    frame = pd.read_csv(synthetic["test"]).head(5)
    frame.loc[3, "x0"] = 1000.0  # the script raises on it
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    result = run_cli(
        "tabular",
        f"{synthetic['script']}:predict",
        data,
        "--train",
        synthetic["train"],
        "--target",
        "y",
        *FAST,
        "--all",
        "--format",
        "jsonl",
        "-q",
        *extra,
    )
    assert result.exit_code == 6, result.stderr
    records = jsonl(result.stdout)
    assert ["error" in r for r in records] == [False, False, False, True, False]
    assert records[3]["error"]["exit_code"] == 5
    assert "out of the range" in records[3]["error"]["message"]


# -- resume ---------------------------------------------------------------------------
def test_resume_after_a_killed_run_gives_the_uninterrupted_file(
    run_cli, synthetic, tmp_path: Path
) -> None:
    model = f"{synthetic['script']}:predict"
    args = [
        str(a) for a in synth_args(synthetic, "--all", "--independent-samples", "-q", model=model)
    ]
    full = tmp_path / "full.jsonl"
    assert run_cli("tabular", *args, "-o", full).exit_code == 0

    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "limecli", "tabular", *args, "-o", str(out)],
        env={**os.environ, "LIMECLI_TEST_SLOW": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= 8:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = out.read_bytes()
    lines = done.count(b"\n")
    assert 8 <= lines < 40
    assert full.read_bytes().startswith(done)  # whole records, in input order
    with out.open("ab") as handle:  # as if the kill had cut a record mid-line
        handle.write(b'{"schema_version": "1.0", "kind": "tab')

    result = run_cli("tabular", *args, "-o", out, "--resume")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == full.read_bytes()
    rows = [r["input"]["row"] for r in jsonl(out.read_text())]
    assert rows == list(range(40))  # each input exactly once


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_resume_from_any_cut_point(run_cli, synthetic, tmp_path: Path, suffix: str) -> None:
    args = synth_args(synthetic, "--rows", "0:12", "-q")
    full = tmp_path / f"full.{suffix}"
    assert run_cli("tabular", *args, "-o", full).exit_code == 0
    data = full.read_bytes()
    for cut in (len(data) // 3, len(data) // 2 + 7, len(data) - 1):
        out = tmp_path / f"cut.{suffix}"
        out.write_bytes(data[:cut])
        result = run_cli("tabular", *args, "-o", out, "--resume")
        assert result.exit_code == 0, result.stderr
        assert out.read_bytes() == data, cut


def test_resume_refuses_another_kind_of_file(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"kind": "text", "input": {"source": "a.txt"}, "labels": []}\n')
    result = run_cli(
        "tabular", RF, TEST, "--train", TRAIN, "--rows", "0:2", *FAST, "-o", out, "--resume"
    )
    assert result.exit_code == 2
    assert "holds text records" in result.stderr


def test_resume_skips_error_records_too(run_cli, synthetic, tmp_path: Path) -> None:
    frame = pd.read_csv(synthetic["test"]).head(4).astype({"x2": object})
    frame.loc[1, "x2"] = "n/a"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    out = tmp_path / "out.jsonl"
    base = [
        synthetic["model"],
        bad,
        "--train",
        synthetic["train"],
        "--target",
        "y",
        *FAST,
        "--all",
        "-o",
        out,
        "-q",
    ]
    assert run_cli("tabular", *base).exit_code == 6
    first = out.read_bytes()
    result = run_cli("tabular", *base, "--resume")
    assert result.exit_code == 0  # nothing left to do, nothing failed in this run
    assert out.read_bytes() == first


# -- library API ---------------------------------------------------------------------
def test_explain_many_shared_pool_equals_explain_with_the_same_seed(synthetic) -> None:
    train = pd.read_csv(synthetic["train"])
    test = pd.read_csv(synthetic["test"])
    explainer = TabularExplainer(
        joblib.load(synthetic["model"]), train, target="y", num_samples=400, num_features=3
    )
    rows = [test.iloc[i] for i in range(5)]
    many = explainer.explain_many(rows, seed=7)
    for row, exp in zip(rows, many, strict=True):
        one = explainer.explain(row, seed=7)
        assert [n for n, _ in exp.as_list()] == [n for n, _ in one.as_list()]
        assert [w for _, w in exp.as_list()] == pytest.approx([w for _, w in one.as_list()])
        assert exp.params == one.params
        assert exp.prediction["label"] == one.prediction["label"]
        assert exp.prediction["probabilities"] == pytest.approx(one.prediction["probabilities"])
    assert [e.input for e in many] == [{"index": i} for i in range(5)]


def test_shared_and_independent_pools_find_the_same_drivers(synthetic) -> None:
    train = pd.read_csv(synthetic["train"])
    test = pd.read_csv(synthetic["test"])
    explainer = TabularExplainer(
        joblib.load(synthetic["model"]), train, target="y", num_samples=2000, num_features=2
    )
    rows = [test.iloc[i] for i in range(20)]
    shared = explainer.explain_many(rows, seed=0)
    independent = explainer.explain_many(rows, seed=0, independent_samples=True)
    assert len({e.params["seed"] for e in independent}) == 20

    def top(exps):
        return [frozenset(f.feature for f in e.labels[0].features) for e in exps]

    # The true drivers, x0 and x1, top (nearly) every explanation either way.
    assert sum(t == {"x0", "x1"} for t in top(shared)) >= 18
    assert sum(t == {"x0", "x1"} for t in top(independent)) >= 18
    # And the weights agree within sampling noise.
    for a, b in zip(shared, independent, strict=True):
        wa = {f.feature: f.weight for f in a.labels[0].features}
        wb = {f.feature: f.weight for f in b.labels[0].features}
        for key in wa.keys() & wb.keys():
            assert wa[key] == pytest.approx(wb[key], abs=0.05)


def test_continuous_sampling_around_the_instance_is_never_shared(synthetic) -> None:
    train = pd.read_csv(synthetic["train"])
    explainer = TabularExplainer(
        joblib.load(synthetic["model"]),
        train,
        target="y",
        discretizer=None,
        sample_around_instance=True,
    )
    assert not explainer.shares_samples
    assert TabularExplainer(
        joblib.load(synthetic["model"]), train, target="y", discretizer=None
    ).shares_samples


def test_run_batch_with_a_per_input_task(tmp_path: Path) -> None:
    """The kind-agnostic runner: identity, seeds, order and error records."""
    predictor = load_model(str(RF))
    train = pd.read_csv(TRAIN)
    test = pd.read_csv(TEST)
    explainer = TabularExplainer(predictor, train, num_samples=200, num_features=2)

    def explain(item: BatchInput):
        if item.ref.position == 2:
            raise RuntimeError("boom")
        return explainer.explain(test.iloc[item.payload], seed=item.seed)

    out = io.StringIO()
    inputs = (BatchInput(InputRef.row("t", i), i) for i in range(4))
    report = run_batch(
        inputs,
        per_input(explain),
        StreamSink("jsonl", out),
        kind="tabular",
        seed=3,
        done={identity_key({"source": "t", "row": 0})},
    )
    assert (report.written, report.failed, report.skipped) == (3, 1, 1)
    records = jsonl(out.getvalue())
    assert [r["input"] for r in records] == [{"source": "t", "row": i} for i in (1, 2, 3)]
    assert records[1]["error"] == {"type": "RuntimeError", "message": "boom", "exit_code": 1}
    assert records[0]["params"]["seed"] == derive_seed(3, {"source": "t", "row": 1})


# -- Dask ---------------------------------------------------------------------------------
def test_dask_backend_on_a_local_cluster_matches_the_local_run(run_cli, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    local = tmp_path / "local.jsonl"
    base = [
        "tabular",
        RF,
        TEST,
        "--train",
        TRAIN,
        "--rows",
        "0:20",
        *FAST,
        "-q",
        "--independent-samples",
    ]
    assert run_cli(*base, "-o", local).exit_code == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = tmp_path / "dask.jsonl"
        result = run_cli(
            *base, "-o", remote, "--backend", "dask", "--scheduler", cluster.scheduler_address
        )
        assert result.exit_code == 0, result.stderr
    assert remote.read_bytes() == local.read_bytes()

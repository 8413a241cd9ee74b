"""``limecli summary``: aggregation on a batch with known drivers, SP-LIME, output forms."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from limecli.summary import submodular_pick, summarize


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch of explanations of a model driven by x0 (strongly) and x1 (less), nothing else."""
    from click.testing import CliRunner

    from limecli.cli import cli

    folder = tmp_path_factory.mktemp("summary")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(700, 5))
    y = (4 * x[:, 0] - 2 * x[:, 1] > 0).astype(int)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(5)]).assign(y=y)
    frame.iloc[:600].to_csv(folder / "train.csv", index=False)
    frame.iloc[600:630].to_csv(folder / "test.csv", index=False)
    joblib.dump(LogisticRegression().fit(x[:600], y[:600]), folder / "model.joblib")
    out = folder / "batch.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "tabular",
            str(folder / "model.joblib"),
            str(folder / "test.csv"),
            "--all",
            "--train",
            str(folder / "train.csv"),
            "--target",
            "y",
            "--num-samples",
            "1000",
            "--num-features",
            "3",
            "--class-names",
            "no,yes",
            "-o",
            str(out),
            "-q",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    # One failed input in the file: summary leaves it out and says so.
    with out.open("a") as handle:
        error = {
            "schema_version": "1.0",
            "kind": "tabular",
            "input": {"source": "x", "row": 99},
            "error": {"type": "InputDataError", "message": "bad", "exit_code": 3},
        }
        handle.write(json.dumps(error) + "\n")
    return out


def test_summary_ranks_the_true_drivers_first(run_cli, batch: Path) -> None:
    result = run_cli("summary", batch, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["explanations"] == 30 and doc["error_records"] == 1
    assert {lab["label"] for lab in doc["labels"]} == {"no", "yes"}
    assert sum(lab["explanations"] for lab in doc["labels"]) == 30
    for lab in doc["labels"]:
        features = lab["features"]
        assert [f["feature"] for f in features[:2]] == ["x0", "x1"]
        x0, x1 = features[0], features[1]
        assert x0["appearances"] == lab["explanations"] and x0["sign_consistency"] >= 0.8
        # Each explains the predicted label and its feature is "the row's own bin":
        # the main driver's bin supports the prediction.
        assert x0["mean_weight"] > 0
        noise = [f["mean_abs_weight"] for f in features[2:]]
        assert all(n < x1["mean_abs_weight"] / 2 for n in noise)


def test_summary_label_filter_and_top_k(run_cli, batch: Path) -> None:
    result = run_cli("summary", batch, "--label", "yes", "--top-k", "1", "--format", "json")
    doc = json.loads(result.stdout)
    assert [lab["label"] for lab in doc["labels"]] == ["yes"]
    assert doc["without_label"] == 30 - doc["labels"][0]["explanations"]
    features = doc["labels"][0]["features"]
    assert features[0]["feature"] == "x0" and features[0]["top_k"] >= 0.6
    assert all(f["top_k"] < features[0]["top_k"] for f in features[1:])
    # Exactly one feature is each explanation's top 1.
    assert sum(f["top_k"] for f in features) == pytest.approx(1.0)
    missing = run_cli("summary", batch, "--label", "maybe")
    assert (
        missing.exit_code == 3
        and "no explanation records explaining label 'maybe'" in missing.stderr
    )


def test_summary_table_and_csv(run_cli, batch: Path, tmp_path: Path) -> None:
    table = run_cli("summary", batch, "--format", "table", "--pick", "2")
    assert table.exit_code == 0
    assert "Summary of 30 explanation(s), 1 error record(s) left out" in table.stdout
    assert "Submodular pick: 2 explanation(s)" in table.stdout
    out = tmp_path / "summary.csv"
    assert run_cli("summary", batch, "-o", out).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["label"] for r in rows} == {"no", "yes"}
    assert [r["feature"] for r in rows if r["rank"] == "1"] == ["x0", "x0"]
    picks = run_cli("summary", batch, "--pick", "2", "--format", "csv")
    picked = list(csv.DictReader(io.StringIO(picks.stdout)))
    assert [p["rank"] for p in picked] == ["1", "2"]
    assert float(picked[1]["coverage"]) >= float(picked[0]["coverage"]) > 0


def test_summary_reads_a_json_array_too(run_cli, batch: Path, tmp_path: Path) -> None:
    records = [json.loads(line) for line in batch.read_text().splitlines()]
    array = tmp_path / "batch.json"
    array.write_text(json.dumps(records))
    a = json.loads(run_cli("summary", array, "--format", "json").stdout)
    b = json.loads(run_cli("summary", batch, "--format", "json").stdout)
    assert a["labels"] == b["labels"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("not json\n", "line 1 is not JSON"), ('{"a": 1}\n', "not a limecli explanation record")],
)
def test_summary_bad_input_is_a_one_line_error(run_cli, tmp_path: Path, content, fragment) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    result = run_cli("summary", path)
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.strip().startswith("Error: ") and fragment in result.stderr


def _record(source: str, weights: dict[str, float], label: str = "a") -> dict:
    return {
        "input": {"source": source},
        "labels": [
            {"label": label, "features": [{"feature": k, "weight": w} for k, w in weights.items()]}
        ],
    }


def test_submodular_pick_covers_instead_of_repeating() -> None:
    records = [
        _record("A", {"f1": 1.0, "f2": 0.5}),
        _record("B", {"f1": 1.0, "f2": 0.6}),  # the same features as A: adds nothing after it
        _record("C", {"f3": 0.7}),
        _record("D", {"f4": 0.01}),
    ]
    summary = summarize(records, pick=3)
    assert [p.input["source"] for p in summary.picks] == ["A", "C", "D"]  # B ties A: earlier wins
    assert summary.picks[-1].coverage == pytest.approx(1.0)
    # Nothing left to cover: the budget is still spent (B adds 0), as in the paper's pick.
    assert [p.input["source"] for p in summarize(records, pick=10).picks] == ["A", "C", "D", "B"]
    rows = [({"source": "x"}, "a", {"f": 1.0}), ({"source": "y"}, "a", {"f": 1.0})]
    assert [p.input["source"] for p in submodular_pick(rows, 2)] == ["x", "y"]


def test_zero_weights_count_nowhere_so_top_k_and_seen_agree() -> None:
    """Three texts; 'the' is listed with weight 0 in every one, 'meh' in one of them."""
    records = [
        _record("1", {"good": 0.8, "the": 0.0}),
        _record("2", {"good": 0.5, "the": 0.0, "meh": -0.2}),
        _record("3", {"bad": -0.9, "the": 0.0, "meh": 0.0}),
    ]
    features = {f.feature: f for f in summarize(records, top_k=5).labels[0].features}
    the, meh, good = features["the"], features["meh"], features["good"]
    assert (the.top_k, the.appearances, the.mean_abs_weight) == (0.0, 0, 0.0)
    assert (meh.top_k, meh.appearances) == (pytest.approx(1 / 3), 1)
    assert (good.top_k, good.appearances) == (pytest.approx(2 / 3), 2)
    for f in features.values():  # in a top K only where seen: never above Seen / n
        assert f.top_k * 3 <= f.appearances + 1e-9


def test_zero_weights_in_the_table_and_its_legend(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "zeros.jsonl"
    records = [_record(str(i), {"good": 0.5 + i, "the": 0.0}) for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_cli("summary", path, "--format", "table")
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if " the " in line)
    assert row.split()[-3:] == ["0%", "100%", "0"]  # Top 5, Same sign (vacuous), Seen
    legend = " ".join(result.stdout.split())
    assert (
        "Top 5: share of explanations where its weight is among the 5 largest and not 0" in legend
    )
    assert "Seen: explanations where its weight is not 0" in legend


@pytest.mark.parametrize("columns", [80, 60])
def test_summary_table_fits_the_console(run_cli, monkeypatch, tmp_path, columns) -> None:
    """At COLUMNS=80 and 60: no line wider, one line per row, every number whole."""
    from rich.cells import cell_len

    long_names = [
        "mean concave points of the worst cells <= 0.0514",
        "이 영화 정말 재미있어요",
        "👩‍💻",
        "sex is missing",
        "x",
    ]
    path = tmp_path / "long.jsonl"
    with path.open("w") as handle:
        for i in range(8):
            weights = {n: (k + 1) * (-1) ** (i + k) * 123.456 for k, n in enumerate(long_names)}
            record = _record(f"runs/a/very/long/folder/name/batch-{i}.jsonl", weights, "benign")
            record["input"]["row"] = 1000 + i
            handle.write(json.dumps(record) + "\n")
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run_cli("summary", path, "--format", "table", "--pick", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    doc = json.loads(run_cli("summary", path, "--format", "json", "--pick", "3").stdout)
    features = doc["labels"][0]["features"]
    rows = [line for line in lines if line[:1].isdigit()]
    assert len(rows) == len(features) + 3  # one line per feature and per pick
    for row, f in zip(rows, features, strict=False):
        assert f"{f['mean_abs_weight']:.4f}" in row and f"{f['mean_weight']:+.4f}" in row
    for row, p in zip(rows[len(features) :], doc["pick"], strict=True):
        assert row.split()[-2:] == [f"{p['gain']:.1%}", f"{p['coverage']:.1%}"]
        assert f" {p['input']['row']} " in row and "batch-" in row  # the file name's end kept


def test_summary_output_keeps_a_file_limecli_did_not_write(run_cli, batch, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    refused = run_cli("summary", batch, "-o", notes, "--format", "table")
    assert refused.exit_code == 2 and "not a limecli output" in refused.stderr
    assert notes.read_text() == "my notes\n"
    assert run_cli("summary", batch, "-o", notes, "--format", "table", "--force").exit_code == 0
    assert run_cli("summary", batch, "-o", notes, "--format", "table").exit_code == 0  # now ours


def test_quiet_as_on_every_command(run_cli, batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    for flag in ("-q", "--quiet"):
        result = run_cli("summary", batch, flag, "-o", out, "--format", "json")
        assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
        assert json.loads(out.read_text())["explanations"] == 30
    quiet = run_cli("summary", batch, "-q", "--format", "csv")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout == run_cli("summary", batch, "--format", "csv").stdout

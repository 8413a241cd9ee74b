"""What people see of the uncertainty figures: settled ranks, could-be-0 marks, flat labels.

Ground truth is planted: a regression reading 4 of 24 columns strongly (the other 20 are
noise), a model whose output never changes, and one that is deterministic noise. The
terminal table (through the CLI, stdout and stderr apart, and through the Python API), the
HTML report and the batch summaries must say what the explanation found, in words.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from conftest import SAMPLE_DATA

from limecli import FlatOutputWarning, explain_tabular
from limecli.explanation import Explanation, FeatureWeight, LabelExplanation
from limecli.render.html import render_html
from limecli.render.terminal import COULD_BE_ZERO, render_table, settled_summary

Run = Callable[..., Result]

DRIVERS = ("x0", "x1", "x2", "x3")
COLUMNS = [f"x{i}" for i in range(24)]  # 4 drivers, 20 columns the model never reads

MODEL_SCRIPT = """
import numpy as np


def planted(batch):
    x = np.asarray(batch, dtype=float)
    return 3 * x[:, 0] - 2 * x[:, 1] + 2 * x[:, 2] + 1.5 * x[:, 3]


def flat(batch):
    return np.tile([0.3, 0.7], (len(batch), 1))
"""


def planted(batch: np.ndarray | pd.DataFrame) -> np.ndarray:
    x = np.asarray(batch, dtype=float)
    return 3 * x[:, 0] - 2 * x[:, 1] + 2 * x[:, 2] + 1.5 * x[:, 3]


def flat(batch: np.ndarray | pd.DataFrame) -> np.ndarray:
    return np.tile([0.3, 0.7], (len(batch), 1))


def pseudo_noise(batch: np.ndarray | pd.DataFrame) -> np.ndarray:
    # Deterministic, but no column explains it: no weight can be told apart from zero.
    return np.sin(1e4 * np.asarray(batch, dtype=float).sum(axis=1))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(16)
    data = pd.DataFrame(rng.normal(size=(400, len(COLUMNS))), columns=COLUMNS)
    data.iloc[0, :4] = [1.5, -1.5, 1.5, -1.5]  # the drivers far from the middle of the data
    return data


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("planted")
    (folder / "models.py").write_text(MODEL_SCRIPT, encoding="utf-8")
    frame.to_csv(folder / "data.csv", index=False)
    return folder / "models.py", folder / "data.csv"


@pytest.fixture(scope="module")
def planted_explanation(frame: pd.DataFrame) -> Explanation:
    return explain_tabular(planted, frame, 0, seed=0, mode="regression")


def rows_of(table: str) -> dict[str, str]:
    """Feature column -> its row of the weights table (conditions look like 'x7 <= 0.3')."""
    rows = {}
    for line in table.splitlines():
        match = re.match(r"^\s*\d+\s+.*?\b(x\d+)\b", line)
        if match:
            rows[match.group(1)] = line
    return rows


def assert_flat_table(stdout: str, labels: int) -> None:
    said = re.findall(
        r"Why label '[01]': the model's output does not change over the (\d+) perturbed "
        r"samples \((0\.[37]) everywhere\): nothing to explain\.",
        stdout,
    )
    assert len(said) == labels, stdout
    assert "R²" not in stdout and "settled" not in stdout and "resamples" not in stdout
    assert "Weight" not in stdout and "█" not in stdout  # no table, no bars
    assert COULD_BE_ZERO not in stdout


# --- a flat model: nothing to explain ---------------------------------------------------


def test_flat_model_through_the_cli(run_cli: Run, files: tuple[Path, Path]) -> None:
    script, data = files
    result = run_cli(
        "tabular", f"{script}:flat", data, "--row", 0, "--format", "table", "--top-labels", 2
    )
    assert result.exit_code == 0, result.stderr
    assert_flat_table(result.stdout, labels=2)
    assert "(0.7 everywhere)" in result.stdout and "(0.3 everywhere)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings and all("does not change" in line for line in warnings), result.stderr


def test_flat_text_model_shows_no_marked_text(run_cli: Run, files: tuple[Path, Path]) -> None:
    script, _ = files
    leak = SAMPLE_DATA / "text" / "leak_post.txt"
    result = run_cli("text", f"{script}:flat", leak, "--format", "table", "--num-samples", 500)
    assert result.exit_code == 0, result.stderr
    assert_flat_table(result.stdout, labels=1)
    assert "Text (" not in result.stdout  # no highlighted text: no word was explained
    assert "Warning:" in result.stderr


def test_flat_model_through_the_api_and_html(frame: pd.DataFrame) -> None:
    with pytest.warns(FlatOutputWarning, match="does not change"):
        exp = explain_tabular(flat, frame, 0, seed=0, num_samples=1000)
    label = exp.labels[0]
    assert label.flat and label.score is None and label.features == []
    assert_flat_table(render_table([exp]), labels=1)
    # Read back from JSON (score null), it says the same.
    assert render_table([Explanation.from_json(exp.to_json())]) == render_table([exp])
    document = html.unescape(render_html([exp]))
    assert (
        "The model's output does not change over the 1000 perturbed samples "
        "(0.7 everywhere): nothing to explain." in document
    )
    assert "R² " not in document.replace("a perfect R² and", "")  # only in the sentence why
    assert "settled" not in document.lower() and '<svg class="weights"' not in document


# --- 4 strong drivers among 20 noise columns ---------------------------------------------


def test_planted_drivers_settle_and_noise_could_be_zero_through_the_cli(
    run_cli: Run, files: tuple[Path, Path]
) -> None:
    script, data = files
    args = ("tabular", f"{script}:planted", data, "--row", 0, "--mode", "regression", "-q")
    result = run_cli(*args, "--format", "table")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "top 4 of 10 settled over 20 resamples (ranks 5-10 could swap)" in out
    assert "held-out R²" in out and "samples (auto)" in out
    rows = rows_of(out)
    assert len(rows) == 10 and set(DRIVERS) <= set(rows)
    assert not any(COULD_BE_ZERO in rows[d] for d in DRIVERS)  # the drivers are real
    noise = [f for f in rows if f not in DRIVERS]
    marked = [f for f in noise if COULD_BE_ZERO in rows[f]]
    assert len(marked) >= 5, out  # a noise column passes 95% by chance now and then
    # Chosen among 24 candidates: the bar is Bonferroni's (3.08), not the interval's 1.96.
    assert "could be 0: |weight| < 3.08 std errors, the bar for 24 candidates; may be noise" in out
    # The marks follow the explanation's own flag, row by row.
    doc = json.loads(run_cli(*args, "--format", "json").stdout)
    label = doc["labels"][0]
    assert label["stability"]["settled_top"] == 4
    flags = {f["feature"]: f["distinguishable_from_zero"] for f in label["features"]}
    assert {f for f, ok in flags.items() if not ok} == {f for f in rows if COULD_BE_ZERO in rows[f]}


def test_planted_drivers_in_html(planted_explanation: Explanation) -> None:
    document = render_html([planted_explanation])
    assert "top 4 of 10 settled over 20 resamples (ranks 5-10 could swap)" in document
    assert "“Top m of k settled”" in document  # what it means, once
    label = planted_explanation.labels[0]
    faint = [f for f in label.features if f.extra["distinguishable_from_zero"] is False]
    assert faint and all(f.feature not in DRIVERS for f in faint)
    # Bars faint, the words beside them, the interval in the table and a legend saying why.
    assert document.count('class="support faint"') + document.count('class="oppose faint"') == len(
        faint
    )
    assert document.count('<tspan class="zero">could be 0</tspan>') == len(faint)
    assert document.count('<span class="zero">could be 0</span>') == len(faint)
    assert "|weight| &lt; 3.08 std errors, the bar for 24 candidates; may be noise" in document
    assert document.count('<path class="ci"') == len(label.features)
    low, high = label.features[0].extra["ci95"]
    assert f"{low:+.3f} … {high:+.3f}" in document


def test_the_marker_survives_80_columns(planted_explanation: Explanation) -> None:
    narrow = render_table([planted_explanation], width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    flagged = [
        f
        for f in planted_explanation.labels[0].features
        if not f.extra["distinguishable_from_zero"]
    ]
    # Whole, once per flagged row, after its weight, interval and bar (the bars are the first
    # thing a narrow table gives up; the words stay): never wrapped or cut.
    row = re.compile(r"[+-]\d\.\d{4}\s+[+-]\d\.\d{3} … [+-]\d\.\d{3}\s+(█+ [+-] )?could be 0$")
    marked = [line for line in narrow.splitlines() if row.search(line)]
    assert len(marked) == len(flagged) == narrow.count(COULD_BE_ZERO) - 1  # and the footnote
    for line, feat in zip(marked, flagged, strict=True):
        assert f"{feat.weight:+.4f}" in line
    assert "top 4 of 10 settled" in narrow.replace("\n", " ")


def test_auto_keeps_the_drivers_and_says_all_settled(frame: pd.DataFrame) -> None:
    exp = explain_tabular(planted, frame, 0, seed=0, mode="regression", num_features="auto")
    table = render_table([exp])
    assert sorted(rows_of(table)) == sorted(DRIVERS)
    assert "all 4 settled over 20 resamples" in table and COULD_BE_ZERO not in table


def test_auto_with_nothing_distinguishable_says_so(frame: pd.DataFrame) -> None:
    exp = explain_tabular(pseudo_noise, frame, 0, seed=0, mode="regression", num_features="auto")
    assert exp.labels[0].features == [] and not exp.labels[0].flat
    table = render_table([exp])
    assert "Nothing to show: no feature is distinguishable from zero." in table
    assert "Weight" not in table and "settled" not in table
    document = render_html([exp])
    assert "no feature is distinguishable from zero" in document
    assert '<svg class="weights"' not in document


# --- the wording of every case, on hand-made labels --------------------------------------


def _label(k: int, settled: int | None, replicates: int = 20) -> LabelExplanation:
    stability: dict[str, object] = {"replicates": replicates, "top_k_change_probability": 0.25}
    if settled is not None:
        stability["settled_top"] = settled
    features = [FeatureWeight(f"f{i}", f"f{i}", 1.0, 1.0 / (i + 1)) for i in range(k)]
    return LabelExplanation("1", 1, 0.0, 0.5, 0.5, 0.5, features, stability=stability)


@pytest.mark.parametrize(
    ("k", "settled", "said"),
    [
        (10, 4, "top 4 of 10 settled over 20 resamples (ranks 5-10 could swap)"),
        (10, 9, "top 9 of 10 settled over 20 resamples (rank 10 could swap)"),
        (10, 10, "all 10 settled over 20 resamples"),
        (10, 0, "no rank settled over 20 resamples"),
        (1, 1, "its one feature settled over 20 resamples"),
        (1, 0, "no rank settled over 20 resamples"),
        (4, None, "same features in 75% of 20 resamples"),  # a record from before schema 1.2
    ],
)
def test_settled_wording(k: int, settled: int | None, said: str) -> None:
    assert settled_summary(_label(k, settled)) == said


def test_summaries_of_flat_records_say_so(run_cli: Run, files: tuple[Path, Path]) -> None:
    script, data = files
    records = files[0].parent / "flat.jsonl"
    result = run_cli(
        "tabular", f"{script}:flat", data, "--rows", "0:3", "--num-samples", 300, "-o", records
    )
    assert result.exit_code == 0, result.stderr
    table = run_cli("summary", records, "--pick", 2, "--format", "table")
    assert table.exit_code == 0, table.stderr
    assert "No feature has a weight in any of them" in table.stdout.replace("\n", " ")
    assert "Nothing to pick: no explanation has a feature weight." in table.stdout
    report = records.parent / "flat.html"
    written = run_cli("summary", records, "--format", "html", "-o", report)
    assert written.exit_code == 0, written.stderr
    document = report.read_text(encoding="utf-8")
    assert "No feature has a weight in any of them" in document
    assert document.count("nothing to explain.") == 3  # each record's section says why
    csv = run_cli("tabular", f"{script}:flat", data, "--row", 0, "--format", "csv")
    # No feature rows, but the input is there: one row that says why.
    rows = csv.stdout.splitlines()[1:]
    assert csv.exit_code == 0 and len(rows) == 1
    header = csv.stdout.splitlines()[0].split(",")
    cells = dict(zip(header, rows[0].split(","), strict=True))
    assert cells["name"] == "(flat output: nothing to explain)"
    assert cells["weight"] == cells["feature"] == cells["ci95_low"] == cells["settled_top"] == ""


def planted_words(texts: list[str]) -> np.ndarray:
    out = []
    for text in texts:
        words = text.split()
        score = 1.0 * ("alpha" in words) - 0.8 * ("gamma" in words)
        p = 1 / (1 + np.exp(-score))
        out.append([1 - p, p])
    return np.array(out)


def test_text_view_dims_words_that_could_be_zero() -> None:
    from limecli import explain_text

    exp = explain_text(
        planted_words, "alpha beta gamma delta epsilon", num_samples=1000, seed=0, labels=[1]
    )
    flags = {f.feature: f.extra["distinguishable_from_zero"] for f in exp.labels[0].features}
    assert flags["alpha"] and flags["gamma"]  # the two words the model reads
    noise = sorted(word for word, ok in flags.items() if not ok)
    assert noise and set(noise) <= {"beta", "delta", "epsilon"}
    coloured = render_table([exp], color=True).split("Text (")[1]
    assert "dim: could be 0" in coloured
    for word in noise:
        assert re.search(rf"\x1b\[2;[\d;]*m{word}\x1b\[0m", coloured), word  # dimmed
    assert not re.search(r"\x1b\[2;[\d;]*malpha", coloured)
    plain = render_table([exp]).split("Text (")[1]
    # Without colour the marks stay [+word]: dropping them gives back the text.
    assert re.sub(r"\[[+-]([^\]]*)\]", r"\1", plain.splitlines()[1]) == exp.data["text"]

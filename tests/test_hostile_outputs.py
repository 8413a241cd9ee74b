"""Nothing lost: -o replaces only limecli's own outputs unless --force; --resume still works."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_DATA, SAMPLE_MODELS
from PIL import Image

from limecli.atomic import check_overwrite, is_limecli_output
from limecli.errors import ParameterError

RF = SAMPLE_MODELS / "diabetes_rf.joblib"
DATA = SAMPLE_DATA / "diabetes_test.csv"
TRAIN = SAMPLE_DATA / "diabetes_train.csv"
FAST = ("--num-samples", "100", "--num-features", "3", "-q", "--train", TRAIN)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "html", "table"])
def test_every_output_format_is_recognised_as_ours(run_cli, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    first = run_cli("tabular", RF, DATA, "--row", 0, *FAST, "--format", fmt, "-o", out)
    assert first.exit_code == 0, first.stderr
    assert is_limecli_output(out)
    again = run_cli("tabular", RF, DATA, "--row", 1, *FAST, "--format", fmt, "-o", out)
    assert again.exit_code == 0, again.stderr


def test_batch_and_summary_outputs_are_recognised(run_cli, tmp_path: Path) -> None:
    jsonl = tmp_path / "b.jsonl"
    assert run_cli("tabular", RF, DATA, "--rows", "0:2", *FAST, "-o", jsonl).exit_code == 0
    assert is_limecli_output(jsonl)
    for fmt in ("csv", "table", "json", "html"):
        out = tmp_path / f"summary.{fmt}"
        result = run_cli("summary", jsonl, "--format", fmt, "-o", out)
        assert result.exit_code == 0, result.stderr
        assert is_limecli_output(out), (fmt, out.read_text()[:200])


@pytest.mark.parametrize(
    "content",
    [
        b"my thesis, chapter 1\n",
        b'{"some": "other json"}\n',
        b"id,name\n1,x\n",
        b"<html><body>my page</body></html>",
        b"\x89HDF\r\n\x1a\n",
    ],
)
def test_a_foreign_file_is_kept_unless_forced(run_cli, tmp_path: Path, content: bytes) -> None:
    out = tmp_path / "victim.json"
    out.write_bytes(content)
    refused = run_cli("tabular", RF, DATA, "--row", 0, *FAST, "-o", out)
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "is not a limecli output" in refused.stderr and "--force" in refused.stderr
    assert out.read_bytes() == content
    forced = run_cli("tabular", RF, DATA, "--row", 0, *FAST, "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert json.loads(out.read_text())["kind"] == "tabular"


def test_force_may_come_after_output(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "victim.json"
    out.write_text("keep?")
    result = run_cli("tabular", RF, DATA, "-o", out, "--force", "--row", 0, *FAST)
    assert result.exit_code == 0, result.stderr


def test_resume_appends_to_our_file_and_refuses_a_foreign_one(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    assert run_cli("tabular", RF, DATA, "--rows", "0:2", *FAST, "-o", out).exit_code == 0
    resumed = run_cli("tabular", RF, DATA, "--rows", "0:4", *FAST, "-o", out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert len(out.read_text().splitlines()) == 4
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text("not json\n")
    refused = run_cli("tabular", RF, DATA, "--rows", "0:4", *FAST, "-o", foreign, "--resume")
    assert refused.exit_code == 2 and foreign.read_text() == "not json\n"


def test_pictures_replace_our_pngs_but_not_other_files(tmp_path: Path) -> None:
    from limecli.render.overlay import save_png

    ours = tmp_path / "ours.png"
    save_png(ours, np.zeros((2, 2, 3), dtype=np.uint8))
    check_overwrite(ours)  # limecli's picture (its Software text chunk): replaced
    png = tmp_path / "a.png"
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((2, 2, 3), dtype=np.uint8)).save(buffer, format="PNG")
    png.write_bytes(buffer.getvalue())
    with pytest.raises(ParameterError, match="not a limecli output"):
        check_overwrite(png)  # someone else's PNG: kept
    other = tmp_path / "b.png"
    other.write_text("text")
    with pytest.raises(ParameterError, match="not a limecli output"):
        check_overwrite(other)
    check_overwrite(other, force=True)
    check_overwrite(tmp_path / "new.png")  # nothing there
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    check_overwrite(empty)  # nothing to lose

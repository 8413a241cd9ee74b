"""Progress in a CI log (stderr not a terminal): plain lines, and a rate that means something.

On a fake clock: lines at most every ``interval`` seconds and a last line; the rate is
over the whole time since the start, ``-`` for the first second (one chunk returning
every record at once used to read ``9722.4/s``). Through the CLI (CliRunner's stderr is
not a terminal): a batch writes such lines, never a live bar.
"""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_DATA, SAMPLE_MODELS

import limecli.cli.progress as progress
from limecli.cli import cli
from limecli.cli.progress import PlainProgress, duration, live_progress, rate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain(clock: Clock, total: int | None = 1000, interval: float = 5.0) -> PlainProgress:
    return PlainProgress("tabular", stream=io.StringIO(), interval=interval, clock=clock)


def written(bar: PlainProgress) -> list[str]:
    assert isinstance(bar.stream, io.StringIO)
    return bar.stream.getvalue().splitlines()


def test_lines_every_interval_with_rate_and_eta() -> None:
    clock = Clock()
    bar = plain(clock)
    with bar:
        task = bar.add_task("tabular", total=1000)
        for _ in range(10):  # 12 rows per second for 10 s, one record a second
            clock.now += 1.0
            bar.advance(task, 12)
        clock.now += 0.0
    lines = written(bar)
    # At 5 s and 10 s (not every second), then the last line.
    assert lines == [
        "tabular: 60/1000 rows (12.0/s), ETA 1m18s",
        "tabular: 120/1000 rows (12.0/s), ETA 1m13s",
        "tabular: 120/1000 rows in 10s (12.0/s)",
    ]


def test_one_chunk_returning_everything_reads_its_true_rate() -> None:
    clock = Clock()
    bar = plain(clock, interval=0.0)
    with bar:
        task = bar.add_task("tabular", total=400)
        clock.now += 8.0  # the pool works for 8 s, then every record arrives at once
        bar.advance(task, 400)
    assert written(bar) == [
        "tabular: 400/400 rows (50.0/s), ETA 0s",
        "tabular: 400/400 rows in 8s (50.0/s)",
    ]


def test_no_rate_before_a_second() -> None:
    clock = Clock()
    bar = plain(clock, interval=0.0)
    with bar:
        task = bar.add_task("tabular", total=10)
        clock.now += 0.002
        bar.advance(task, 10)
    assert written(bar) == ["tabular: 10/10 rows (-/s)", "tabular: 10/10 rows in 0s"]
    assert rate(10, 0.002) is None and rate(10, 2.0) == 5.0 and rate(0, None) is None


def test_unknown_total_and_units() -> None:
    clock = Clock()
    bar = PlainProgress("audit", stream=io.StringIO(), interval=0.0, clock=clock)
    with bar:
        task = bar.add_task("audit", total=None)
        clock.now += 2.0
        bar.advance(task, 3)
        bar.update(task, total=9)
        clock.now += 1.0
        bar.advance(task, 6)
    assert written(bar) == [
        "audit: 3 inputs (1.5/s)",
        "audit: 9/9 inputs (3.0/s), ETA 0s",
        "audit: 9/9 inputs in 3s (3.0/s)",
    ]


def test_an_interrupted_batch_says_where_it_stopped() -> None:
    clock = Clock()
    bar = plain(clock)
    with pytest.raises(KeyboardInterrupt), bar:
        task = bar.add_task("tabular", total=100)
        clock.now += 65.0
        bar.advance(task, 30)
        raise KeyboardInterrupt
    assert written(bar)[-1] == "tabular: stopped at 30/100 rows after 1m05s"


def test_disabled_writes_nothing() -> None:
    bar = PlainProgress("text", stream=io.StringIO(), enabled=False, interval=0.0)
    with bar:
        bar.advance(bar.add_task("text", total=2), 2)
    assert written(bar) == []


def test_durations() -> None:
    assert [duration(s) for s in (0, 59.4, 73, 3599, 3600, 7501)] == [
        "0s",
        "59s",
        "1m13s",
        "59m59s",
        "1h00m",
        "2h05m",
    ]


def test_live_bar_rate_is_over_the_whole_elapsed_time() -> None:
    clock = Clock()
    bar = live_progress("tabular", enabled=False, clock=clock)
    task_id = bar.add_task("tabular", total=400)
    column = bar.columns[3]
    clock.now += 0.01
    bar.advance(task_id, 400)  # everything in one chunk, right away
    task = bar.tasks[0]
    assert column.render(task).plain == "-/s"  # not 40000.0/s
    clock.now += 7.99
    assert column.render(task).plain == "50.0/s"


def test_a_batch_through_the_cli_writes_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "INTERVAL", 0.0)  # a line for every record
    result = CliRunner().invoke(
        cli,
        [
            "tabular",
            str(SAMPLE_MODELS / "breast_cancer_rf.joblib"),
            str(SAMPLE_DATA / "breast_cancer_test.csv"),
            "--train",
            str(SAMPLE_DATA / "breast_cancer_train.csv"),
            "--rows",
            "0:6",
            "--num-samples",
            100,
            "--format",
            "jsonl",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tabular:")]
    assert "\r" not in result.stderr and "\x1b" not in result.stderr  # no live bar
    line = re.compile(r"^tabular: (\d+)/6 rows \((-|\d+\.\d)/s\)(, ETA \d+(m\d\ds)?s?)?$")
    *steps, last = lines
    counts = [int(line.match(s).group(1)) for s in steps]  # type: ignore[union-attr]
    assert counts == sorted(counts) and counts[-1] == 6 and len(steps) >= 1
    assert re.match(r"^tabular: 6/6 rows in \d+s( \(\d+\.\d/s\))?$", last), last


def test_a_quiet_batch_writes_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    result = CliRunner().invoke(
        cli,
        [
            "-q",
            "text",
            str(SAMPLE_MODELS / "text_newsgroups.joblib"),
            str(SAMPLE_DATA / "text" / "leak_post.txt"),
            str(SAMPLE_DATA / "text" / "leak_post.txt"),
            "--num-samples",
            100,
            "--format",
            "jsonl",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0 and result.stderr == ""

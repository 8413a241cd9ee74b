"""A batch's progress on stderr: a live bar on a terminal, plain lines in a log.

A CI log is not a terminal: a live bar there shows nothing until one final
line. :class:`PlainProgress` writes ``tabular: 120/1000 rows (12.0/s), ETA
1m13s`` at most every :data:`INTERVAL` seconds, and a last line when the batch
ends. Both say the rate over the whole time since the batch started (a chunk that
returns everything at once does not read as thousands per second), and ``-``
until :data:`MIN_RATE_ELAPSED` seconds have passed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

#: Seconds between two progress lines in a log.
INTERVAL = 5.0
#: Before this many seconds, a rate would be noise: shown as ``-``.
MIN_RATE_ELAPSED = 1.0
#: What one input of each kind is called in the lines.
UNITS = {"tabular": "rows", "text": "texts", "image": "images"}


def monotonic() -> float:
    return time.monotonic()


def rate(completed: float, elapsed: float | None) -> float | None:
    """Inputs per second since the start, or None while too early to say."""
    if elapsed is None or elapsed < MIN_RATE_ELAPSED:
        return None
    return completed / elapsed


def rate_text(value: float | None) -> str:
    return "-/s" if value is None else f"{value:.1f}/s"


def duration(seconds: float) -> str:
    """``13s``, ``1m13s``, ``2h05m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class PlainProgress:
    """The subset of rich's ``Progress`` a batch uses, written as plain lines."""

    def __init__(
        self,
        description: str,
        *,
        stream: IO[str] | None = None,
        enabled: bool = True,
        interval: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.description = description
        self.unit = UNITS.get(description, "inputs")
        self.stream = stream
        self.enabled = enabled
        self.interval = INTERVAL if interval is None else interval
        self.clock = clock or monotonic
        self.total: int | None = None
        self.completed = 0
        self.start: float | None = None
        self.last_line: float | None = None

    def __enter__(self) -> PlainProgress:
        self.start = self.last_line = self.clock()
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self._write(self.final_line())
        elif issubclass(kind, KeyboardInterrupt) and self.completed:
            self._write(f"{self.description}: stopped at {self._count()} after {self._elapsed()}")

    def add_task(self, description: str, total: int | None = None) -> int:
        self.total = total
        return 0

    def update(self, task: int, *, total: int | None = None, **_: Any) -> None:
        if total is not None:
            self.total = total

    def advance(self, task: int, n: int = 1) -> None:
        self.completed += n
        now = self.clock()
        if self.last_line is None or now - self.last_line >= self.interval:
            self.last_line = now
            self._write(self.line())

    def line(self) -> str:
        """``tabular: 120/1000 rows (12.0/s), ETA 1m13s``."""
        speed = rate(self.completed, self._seconds())
        text = f"{self.description}: {self._count()} ({rate_text(speed)})"
        if speed and self.total is not None:
            text += f", ETA {duration(max(self.total - self.completed, 0) / speed)}"
        return text

    def final_line(self) -> str:
        """``tabular: 1000/1000 rows in 1m23s (12.0/s)`` (no rate under a second)."""
        speed = rate(self.completed, self._seconds())
        per_second = "" if speed is None else f" ({rate_text(speed)})"
        return f"{self.description}: {self._count()} in {self._elapsed()}{per_second}"

    def _count(self) -> str:
        done = f"{self.completed}/{self.total}" if self.total is not None else f"{self.completed}"
        return f"{done} {self.unit}"

    def _seconds(self) -> float | None:
        return None if self.start is None else self.clock() - self.start

    def _elapsed(self) -> str:
        return duration(self._seconds() or 0.0)

    def _write(self, text: str) -> None:
        if self.enabled:
            stream = self.stream if self.stream is not None else sys.stderr
            stream.write(text + "\n")
            stream.flush()


def live_progress(description: str, enabled: bool, clock: Callable[[], float] | None = None) -> Any:
    """rich's live bar on stderr (done/total, rate since the start, elapsed, ETA)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from limecli.cli.color import stderr_console

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            # rich's own speed is over its last samples: one chunk returning everything at
            # once would read as thousands per second.
            return Text(rate_text(rate(task.completed, task.elapsed)), style="progress.data.speed")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr_console(),
        disable=not enabled,
        transient=False,
        get_time=clock,
    )


def progress_bar(total: int | None, description: str, enabled: bool) -> Any:
    """A live bar if stderr is a terminal that can show one, else plain lines (or nothing,
    when not ``enabled``). Used as ``with bar: task = bar.add_task(...); bar.advance(task, n)``."""
    from limecli.cli.color import live_terminal

    if enabled and live_terminal(sys.stderr):
        return live_progress(description, enabled)
    return PlainProgress(description, enabled=enabled)

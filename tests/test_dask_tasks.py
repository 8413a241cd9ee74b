"""Dask tasks carry several chunks (limecli.batch.dask_tasks), issue 20.

A task's size comes from the chunk times that came back (closed form below), the
end of the inputs is shared out between the worker threads, and whatever the
grouping, the records are those of a run in one process, in input order.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from limecli.batch import BatchInput, InputRef, StreamSink, run_batch
from limecli.batch.dask_tasks import MAX_GROUP, TASK_SECONDS, TaskSizes


def test_a_task_lasts_about_task_seconds_by_the_chunks_timed() -> None:
    sizes = TaskSizes(threads=2)
    assert sizes.next(None) == 1  # nothing timed yet: one chunk
    sizes.timed(0.1)
    assert sizes.next(None) == round(TASK_SECONDS / 0.1) == 5
    sizes.timed(0.1)
    sizes.timed(0.3)  # the median of what came back: 0.1 s
    assert sizes.next(None) == 5
    slow = TaskSizes(threads=2)
    slow.timed(2.0)
    assert slow.next(None) == 1  # a chunk longer than a task: alone
    fast = TaskSizes(threads=2)
    fast.timed(0.001)
    assert fast.next(None) == MAX_GROUP


def test_the_last_chunks_are_shared_out_between_the_threads() -> None:
    sizes = TaskSizes(threads=2)
    sizes.timed(0.05)  # 10 chunks would make a task
    assert sizes.next(None) == 8  # capped
    assert sizes.next(left=40) == 8
    assert sizes.next(left=12) == 3  # ceil(12 / (2 threads x 2 in flight))
    assert sizes.next(left=3) == 1
    assert sizes.next(left=0) == 1


def _slow_errors(chunk: list[BatchInput]) -> list[Exception]:
    time.sleep(0.02)  # a chunk of 0.02 s: tasks of several chunks
    return [ValueError(f"row {item.ref.to_dict()['row']}") for item in chunk]


def test_a_dask_batch_of_short_chunks_sends_fewer_tasks_and_the_same_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from limecli.batch import dask_tasks

    calls: list[float] = []  # one per task that came back (its chunks' average time)
    real_timed = dask_tasks.TaskSizes.timed

    def timed(self: TaskSizes, seconds: float) -> None:
        calls.append(seconds)
        real_timed(self, seconds)

    monkeypatch.setattr(dask_tasks.TaskSizes, "timed", timed)

    def batch(**options: object) -> str:
        out = io.StringIO()
        run_batch(
            (BatchInput(InputRef.row("t", i)) for i in range(60)),
            _slow_errors,
            StreamSink("jsonl", out),
            kind="tabular",
            seed=0,
            chunk_size=1,
            **options,  # type: ignore[arg-type]
        )
        return out.getvalue()

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = batch(jobs=2, backend="dask", scheduler=cluster.scheduler_address)
    assert remote == batch(jobs=1)
    rows = [json.loads(line)["error"]["message"] for line in remote.splitlines()]
    assert rows == [f"row {i}" for i in range(60)]
    # 60 chunks of 0.02 s: 4 single ones first, then up to 8 a task, fewer at the end.
    assert 8 <= len(calls) < 30

"""Local batch workers forked from a fork server (limecli.batch.pool), issue 20.

The same bytes for --jobs 1, --jobs 2 and Dask with a model that runs GNU OpenMP in the
batch's own process before the workers start (it would hang a worker forked from that
process); workers only when jobs > 1; nothing left running after a batch; a script's
unguarded top level is not run again in each worker.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from limecli import TabularExplainer, wrap_model
from limecli.batch import BatchInput, InputRef, StreamSink, run_batch
from limecli.batch.tasks_tabular import TabularBatchTask, stream_batch_inputs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork server and /proc")

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "sample_data" / "breast_cancer_train.csv"
TEST = ROOT / "sample_data" / "breast_cancer_test.csv"


def _children() -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            found |= {int(c) for c in Path(f"/proc/self/task/{task}/children").read_text().split()}
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def hgb_batch() -> tuple[TabularExplainer, pd.DataFrame]:
    train = pd.read_csv(TRAIN)
    x, y = train.drop(columns="diagnosis"), train["diagnosis"]
    # OpenMP (GNU libgomp in scikit-learn's wheels) runs in fit and predict_proba here.
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x.to_numpy(), y)
    explainer = TabularExplainer(
        wrap_model(model.predict_proba, mode="classification"), x, num_samples=300
    )
    return explainer, pd.read_csv(TEST).drop(columns="diagnosis")


def _run(
    explainer: TabularExplainer,
    test: pd.DataFrame,
    jobs: int,
    backend: str = "local",
    scheduler: str | None = None,
) -> str:
    out = io.StringIO()
    pool = explainer.shared_pool(seed=0)  # the model runs here, in this process, first
    run_batch(
        stream_batch_inputs(
            explainer, ((i, test.iloc[i]) for i in range(24)), source="t", shared=True
        ),
        TabularBatchTask(explainer, pool),
        StreamSink("jsonl", out),
        kind="tabular",
        seed=0,
        jobs=jobs,
        chunk_size=5,
        backend=backend,
        scheduler=scheduler,
    )
    return out.getvalue()


def test_an_openmp_model_gives_the_same_bytes_on_1_and_2_jobs_and_nothing_is_left(
    hgb_batch: tuple[TabularExplainer, pd.DataFrame],
) -> None:
    explainer, test = hgb_batch
    before = _children()
    one = _run(explainer, test, jobs=1)
    assert _children() == before  # no worker, no fork server for one job
    two = _run(explainer, test, jobs=2)  # would hang if workers were forked from here
    assert len(one.splitlines()) == 24
    assert two == one
    assert _children() == before  # workers, fork server and resource tracker all gone


def test_dask_gives_the_same_bytes(hgb_batch: tuple[TabularExplainer, pd.DataFrame]) -> None:
    distributed = pytest.importorskip("dask.distributed")
    explainer, test = hgb_batch
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = _run(explainer, test, jobs=2, backend="dask", scheduler=cluster.scheduler_address)
    assert remote == _run(explainer, test, jobs=1)


SCRIPT = """
import io
import sys

import pandas as pd

from limecli import TabularExplainer, load_model
from limecli.batch import StreamSink, run_batch
from limecli.batch.tasks_tabular import TabularBatchTask, stream_batch_inputs

print("top level ran", file=sys.stderr)
train = pd.read_csv({train!r})
explainer = TabularExplainer(load_model({model!r}), train, num_samples=200)
rows = ((i, train.iloc[i]) for i in range(6))
run_batch(
    stream_batch_inputs(explainer, rows, source="t", shared=True),
    TabularBatchTask(explainer, explainer.shared_pool(seed=0)),
    StreamSink("jsonl", sys.stdout),
    kind="tabular", seed=0, jobs=2, chunk_size=2,
)
"""


def test_a_scripts_unguarded_top_level_runs_once(tmp_path: Path) -> None:
    """multiprocessing would import the program's __main__ again in each worker."""
    script = tmp_path / "batch.py"
    model = ROOT / "sample_models" / "breast_cancer_rf.joblib"
    script.write_text(textwrap.dedent(SCRIPT.format(train=str(TRAIN), model=str(model))))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("top level ran") == 1, done.stderr
    assert len(done.stdout.splitlines()) == 6


def test_a_fork_server_started_early_ends_with_a_command_whose_model_fails(
    run_cli, tmp_path: Path
) -> None:
    """The command starts the fork server before it loads the model (limecli.cli.batch_run):
    a model that cannot load leaves nothing running."""
    before = _children()
    out = tmp_path / "out.jsonl"
    result = run_cli("tabular", tmp_path / "missing.joblib", TEST, "--all", "--jobs", 2, "-o", out)
    assert result.exit_code == 4, result.stderr
    assert _children() == before


def _first_is_slow(chunk: list[BatchInput]) -> list[Exception]:
    if chunk[0].ref.to_dict()["row"] == 0:
        time.sleep(1.5)  # the other worker finishes every chunk read ahead meanwhile
    return [ValueError(f"row {item.ref.to_dict()['row']}") for item in chunk]


def test_chunks_finishing_out_of_order_do_not_stall_the_batch() -> None:
    """Chunk 0 outlasts every chunk read after it: once it is written, reading goes on."""
    out = io.StringIO()
    report = run_batch(
        (BatchInput(InputRef.row("t", i)) for i in range(9)),
        _first_is_slow,
        StreamSink("jsonl", out),
        kind="tabular",
        seed=0,
        jobs=2,
        chunk_size=1,
    )
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert report.written == report.failed == 9
    assert [r["error"]["message"] for r in records] == [f"row {i}" for i in range(9)]


PROBE = """
import sys

from limecli.batch.pool import _context, start_server, stop_server

MODULES = (
    "sklearn.pipeline",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "skimage.segmentation._quickshift",
    "PIL.PngImagePlugin",
    "limecli.stability",
)


def probe(queue):
    queue.put([m for m in MODULES if m in sys.modules])


if __name__ == "__main__":
    start_server(sys.argv[1])
    context = _context()
    queue = context.Queue()
    worker = context.Process(target=probe, args=(queue,))
    worker.start()
    print(",".join(queue.get(timeout=60)))
    worker.join()
    stop_server()
"""


TEXT_MODEL = ["sklearn.pipeline", "sklearn.feature_extraction.text", "sklearn.linear_model"]
IMAGE_WORK = ["skimage.segmentation._quickshift", "PIL.PngImagePlugin"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("text", [*TEXT_MODEL, "limecli.stability"]),
        ("image", [*IMAGE_WORK, "limecli.stability"]),
    ],
)
def test_a_worker_starts_with_what_its_first_input_imports(
    tmp_path: Path, kind: str, expected: list[str]
) -> None:
    # A worker importing them itself paid it at its first input, each worker: a text worker
    # 1.25 s of CPU for a TF-IDF pipeline (40 posts ran no faster with --jobs 2 than with
    # --jobs 1, bench/bench_batch.py), an image worker 0.5 s.
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), kind], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = [m for m in done.stdout.strip().split(",") if m]
    assert sorted(found) == sorted(expected)


def _dies_on_three(chunk: list[int]) -> tuple[list[str], list[Warning]]:
    if 3 in chunk:
        os._exit(3)  # no answer: the pool sees the worker end
    return [f"item {i} in {os.getpid()}" for i in chunk], []


def test_a_worker_holds_its_next_chunk_and_one_that_dies_gives_it_back() -> None:
    """Each worker is sent the chunk it runs and the next (DEPTH); when it dies, the chunk it
    was running is the one reported, and the next, never started, runs in its replacement."""
    import cloudpickle

    from limecli.batch.pool import DEPTH, LocalPool, start_server, stop_server

    assert DEPTH == 2
    died: list[tuple[list[int], int | None]] = []

    def on_death(job: Any, exitcode: int | None) -> tuple[list[str], list[Warning]]:
        died.append((job.items, exitcode))
        return [f"item {job.items[0]} crashed"], []

    start_server(None)
    try:
        pool = LocalPool(1, cloudpickle.dumps(_dies_on_three), on_death)
        sent: list[list[int]] = []
        real_start = pool._start

        def start(send: bool = True) -> None:
            real_start(send)
            worker = pool.workers[-1]
            send = worker.conn.send
            worker.conn.send = lambda items: (sent.append(items), send(items))[1]

        pool._start = start  # type: ignore[method-assign]
        results = [records for records, _ in pool.run(iter([[i] for i in range(6)]))]
    finally:
        stop_server()
    assert [r[0].split(" in ")[0] for r in results] == [
        "item 0",
        "item 1",
        "item 2",
        "item 3 crashed",
        "item 4",
        "item 5",
    ]
    # Only chunk [3] killed its worker; [4] had been sent with it and ran in the next one.
    assert died == [([3], 3)]
    assert sent.count([4]) == 2
    pids = {r[0].split(" in ")[1] for r in results if "crashed" not in r[0]}
    assert len(pids) == 2  # the worker that died, and its replacement


def test_rows_travel_packed_and_arrive_as_the_same_series() -> None:
    """A batch's rows pickle as cells plus one shared Index per chunk (PackedRow), and are
    the same Series in the worker: values and their types, dtype, name and labels."""
    import pickle

    from limecli.batch.tasks_tabular import PackedRow, _Packer, _unpacked

    frame = pd.DataFrame(
        {
            "a": [1.5, float("nan"), 3.0],
            "b": ["x", None, "z"],
            "c": [1, 2, 3],
            "d": pd.Categorical(["u", "v", "u"]),
        }
    )
    numeric = frame[["a", "c"]].astype(float)
    categories = frame[["d"]]
    pack = _Packer()
    for table in (frame, numeric, categories):
        rows = [table.iloc[i] for i in range(len(table))]
        packed = [pack(row) for row in rows]
        if table is categories:
            assert rows[0].dtype.name == "category"
            assert packed == rows  # an extension dtype: left whole
            continue
        assert all(isinstance(p, PackedRow) for p in packed)
        assert packed[1].labels is packed[0].labels  # one Index for the table's rows
        back = pickle.loads(pickle.dumps(packed))
        assert back[1].labels is back[0].labels
        for row, travelled in zip(rows, back, strict=True):
            got = _unpacked(travelled)
            assert got.dtype == row.dtype and got.name == row.name
            assert list(got.index) == list(row.index) and got.index.dtype == row.index.dtype
            assert [type(v) for v in got] == [type(v) for v in row]
            assert got.equals(row)
    whole = [frame.iloc[i] for i in range(3)]
    assert len(pickle.dumps([pack(r) for r in whole])) < 0.6 * len(pickle.dumps(whole))

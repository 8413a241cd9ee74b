"""A cluster started from the shell as docs/batch.md says, with the workers' preload (issue 20).

``dask worker ... --preload limecli.batch.dask_preload`` imports what any kind of
batch needs while the worker starts, before it joins the scheduler: a cluster's
first batch no longer waits for its workers' imports. The cluster here is the
docs' commands run as subprocesses; the batch then runs through the CLI, with
the same bytes as one process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from limecli.batch.dask_preload import import_all, preload_modules
from limecli.batch.pool import PRELOAD

ROOT = Path(__file__).resolve().parent.parent
RF = str(ROOT / "sample_models" / "breast_cancer_rf.joblib")
TEST = str(ROOT / "sample_data" / "breast_cancer_test.csv")
TRAIN = str(ROOT / "sample_data" / "breast_cancer_train.csv")


def test_the_preload_covers_every_kind_once() -> None:
    modules = preload_modules()
    assert len(modules) == len(set(modules))
    for kind in ("tabular", "text", "image"):
        assert set(PRELOAD[kind]) <= set(modules)
    assert import_all() == []  # all installed with the test extras


def test_a_module_that_is_not_installed_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import limecli.batch.dask_preload as preload

    monkeypatch.setitem(preload.PRELOAD, "nowhere", ("limecli_no_such_module",))
    assert preload.import_all() == ["limecli_no_such_module"]


def _loaded(names: tuple[str, ...]) -> dict[str, bool]:
    return {name: name in sys.modules for name in names}


@pytest.mark.parametrize("preload", [True, False])
def test_workers_started_with_the_preload_import_before_the_first_batch(
    run_cli, tmp_path: Path, preload: bool
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    cluster = [
        subprocess.Popen(
            [*dask, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", file],
            **quiet,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = ["worker", "--scheduler-file", str(file), "--nworkers", "1", "--nthreads", "1"]
        worker += ["--no-dashboard"]
        if preload:
            worker += ["--preload", "limecli.batch.dask_preload"]
        cluster.append(subprocess.Popen([*dask, *worker], **quiet))
        probe = ("sklearn.ensemble", "limecli.batch.tasks_image", "limecli.batch.tasks_text")
        with distributed.Client(scheduler_file=str(file), timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
            # Asked as soon as the worker joined, before limecli ever connected; the
            # function travels by value (the worker cannot import this test module).
            cloudpickle.register_pickle_by_value(sys.modules[__name__])
            try:
                [loaded] = client.run(_loaded, probe).values()
            finally:
                cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
            address = client.scheduler.address
        # Without it (the control), the worker has imported none of them yet.
        assert loaded == dict.fromkeys(probe, preload)
        base = ["tabular", RF, TEST, "--train", TRAIN, "--rows", "0:6", "--num-samples", "500"]
        base += ["-q"]
        local, remote = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
        assert run_cli(*base, "-o", local).exit_code == 0
        result = run_cli(*base, "-o", remote, "--backend", "dask", "--scheduler", address)
        assert result.exit_code == 0, result.stderr
        assert remote.read_bytes() == local.read_bytes()
    finally:
        for proc in reversed(cluster):
            proc.terminate()
            proc.wait(timeout=30)
